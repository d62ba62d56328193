"""The system tools' read-only specs, read as a spec: per tool, what is auto-approved on a host
that auto-approves read-only commands, and what is not, with the option or verb the reason names.

The tools parse their arguments their own way, and the specs follow them: iproute2 takes any
prefix of a keyword and the first keyword in its source order wins (`ip r d` = route delete,
`ip vrf e` = vrf exec); getopt_long takes unique prefixes of long options (`dmesg --cl` =
`--clear`); systemctl's verb is its first operand wherever the options are; procps `ps` reads BSD
words (`e` = show environments) and UNIX options (`-e` = every process) differently.
Every command here is only a string handed to the pure `decide`; nothing is ever executed.
"""

from __future__ import annotations

import pytest

from executor.policy import (
    DEFAULT_READONLY,
    Decision,
    PolicyConfig,
    ReadOnlyRule,
    Requester,
    Verdict,
    decide,
)
from executor.policy.tools import read_tool
from executor.policy.values import literal_arg

AUTO = PolicyConfig(
    auto_approve_readonly=True,
    readonly=(*DEFAULT_READONLY, *(ReadOnlyRule.of(tool) for tool in ("top", "nginx", "ufw"))),
)
"""The shipped list, plus the three tools it leaves out because they write on the way (a
user who runs them without the sandbox may list them): their specs are tested too."""
OPERATOR = Requester("@ops:example.org", "operator")


def judge(command: str) -> Decision:
    return decide(command, "web1", OPERATOR, AUTO)


READ_ONLY: dict[str, list[str]] = {
    "ip": [
        "ip a",
        "ip -br a",
        "ip -br -c a",
        "ip --brief address show",
        "ip -4 addr show dev eth0",
        "ip -6 route",
        "ip -j -p route show table main",
        "ip -s link",
        "ip -s -s link show dev eth0",
        "ip -d link show",
        "ip -o addr",
        "ip -c a s",
        "ip -f inet a",
        "ip -n blue addr",
        "ip r",
        "ip r s",
        "ip route get 1.1.1.1",
        "ip r g 8.8.8.8",
        "ip n",
        "ip neigh show dev eth0",
        "ip rule list",
        "ip l",
        "ip l sh",
        "ip link show up",
        "ip maddr",
        "ip netns list",
        "ip netns",
        "ip netns identify 1234",
        "ip vrf show",
        "ip mroute show",
        "ip nexthop",
        "ip tuntap show",
        "ip help",
        "ip address help",
        "ip r g 1.1.1.1 from 10.0.0.1 iif eth0",
        "ip neighbour show",
        "ip -color=auto a",
        "ip -br -- a",
    ],
    "ss": [
        "ss -tlnp",
        "ss -s",
        "ss -tan state established",
        "ss -o state established '( dport = :ssh )'",
        "ss --tcp --listening --numeric --processes",
        "ss --list",
        "ss -x -a",
        "ss -4 -n -e -i -m",
        "ss -A tcp,udp",
        "ss -N blue -t",
    ],
    "netstat": [
        "netstat -tlnp",
        "netstat -an",
        "netstat -rn",
        "netstat -i",
        "netstat -s",
        "netstat --tcp --listening --numeric --programs",
    ],
    "systemctl": [
        "systemctl",
        "systemctl status nginx",
        "systemctl status nginx --no-pager",
        "systemctl --no-pager -l status nginx",
        "systemctl --failed",
        "systemctl list-units --failed",
        "systemctl --type=service --state=running",
        "systemctl is-active --quiet nginx",
        "systemctl is-enabled docker",
        "systemctl is-failed nginx",
        "systemctl is-system-running",
        "systemctl show -p ActiveState --value nginx",
        "systemctl cat nginx",
        "systemctl list-timers --all",
        "systemctl list-unit-files --type=service",
        "systemctl list-dependencies nginx",
    ],
    "journalctl": [
        "journalctl -u nginx -n 50",
        'journalctl -u nginx --since "1 hour ago" --no-pager',
        "journalctl -k -b -1",
        "journalctl -xe",
        "journalctl -o json -n 5",
        "journalctl -o export -n 1",
        "journalctl -p err -b --no-pager",
        "journalctl _SYSTEMD_UNIT=sshd.service",
        "journalctl --disk-usage",
        "journalctl --list-boots",
        "journalctl --grep=fail -r",
        "journalctl --utc --output=short-iso -n 20",
        "journalctl -b",
        "journalctl -b -u nginx",
        "journalctl -fu nginx",
        "journalctl --no-p",
    ],
    "iptables": [
        "iptables -t nat -L -n",
        "iptables -L -n --line-numbers",
        "iptables -nvL",
        "iptables -L INPUT -n -v -x",
        "iptables -S",
        "iptables -S INPUT",
        "iptables -w -L",
        "iptables --list --numeric",
        "iptables -t filter -nL INPUT",
        "iptables --list-rules",
        "ip6tables -L -n",
        "ip6tables -S",
        "iptables -Lnv",
        "iptables --line -L",
    ],
    "nft": [
        "nft list ruleset",
        "nft list tables",
        "nft -a list table inet filter",
        "nft list chain inet filter input",
        "nft -j list ruleset",
        "nft -n -s list ruleset",
        "nft list set inet filter blocklist",
    ],
    "sysctl": [
        "sysctl net.ipv4.ip_forward",
        "sysctl -a",
        "sysctl -n vm.swappiness",
        "sysctl -e -q kernel.hostname",
        "sysctl -N -a",
        "sysctl --all",
        "sysctl -a -r tcp",
    ],
    "dmesg": [
        "dmesg",
        "dmesg -T",
        "dmesg -T | grep usb",
        "dmesg --level=err,warn",
        "dmesg -l err -x",
        "dmesg -k --ctime",
        "dmesg --time-format iso",
    ],
    "ps": [
        "ps aux",
        "ps -ef",
        "ps -e",
        "ps -A",
        "ps -o pid,user,etime",
        "ps -eo pid,ppid,cmd,%mem --sort=-%mem",
        "ps axjf",
        "ps -p 1 -o comm=",
        "ps -C nginx -o pid=",
        "ps -u www-data",
        "ps -fp 123",
        "ps aux --forest",
        "ps -eLf",
        "ps --pid 1",
        "ps o pid,etime",
        "ps -p $$ -o pid,etime",
        'ps -p "$(pgrep nginx)" -o pid,etime',
        "ps -o pid,cmd:50",
        "ps 1234",
    ],
    "date": [
        "date",
        "date -u",
        "date -R",
        "date -I",
        "date -Iseconds",
        "date --iso-8601=seconds",
        "date +%s",
        "date -d yesterday",
        "date -d '@1700000000' +%F",
        "date --date='next friday'",
        "date -u +%Y-%m-%dT%H:%M:%SZ",
        "date -r /etc/hosts",
        "date --rfc-3339=seconds",
    ],
    "docker": [
        "docker ps",
        "docker ps -a --format '{{.Names}}'",
        "docker images",
        "docker logs --tail 100 web",
        "docker logs -n 20 -t web",
        "docker stats --no-stream",
        "docker version",
        "docker info",
        "docker compose ps",
        "docker compose logs --tail 50 web",
        "docker compose ls",
        "docker ps --filter status=exited -q",
        "docker logs web --tail 10",
        "docker container ls -a",
        "docker image ls",
        "docker compose -f /srv/app/compose.yml ps",
    ],
    "git": [
        "git status",
        "git status --short",
        "git log --oneline -n 10",
        "git log -5 --stat",
        "git diff HEAD~1 --stat",
        "git diff --cached",
        "git show HEAD",
        "git branch",
        "git branch -a",
        "git branch -vv",
        "git remote",
        "git remote -v",
        "git remote show",
        "git remote get-url origin",
        "git --no-pager log -1",
        "git log --oneline --graph --all -20",
        "git status -sb",
        "git remote -v show",
    ],
    "crontab": [
        "crontab -l",
        "crontab -l -u www-data",
        "crontab -u www-data -l",
        "crontab -lu root",
    ],
    "dpkg": [
        "dpkg -l",
        "dpkg -l 'nginx*'",
        "dpkg -L nginx",
        "dpkg -s openssh-server",
        "dpkg -S /usr/sbin/sshd",
        "dpkg --get-selections",
    ],
    "apt": [
        "apt list --installed",
        "apt list --upgradable",
        "apt policy nginx",
        "apt-cache policy nginx",
        "apt-cache show nginx",
        "apt-cache search nginx",
        "apt-cache depends nginx",
    ],
    "daemons": [
        "nginx -t",
        "nginx -T",
        "sshd -t",
        "sshd -T",
        "ufw status",
        "ufw status verbose",
        "timedatectl status",
        "timedatectl",
        "hostnamectl status",
        "nginx -tq",
        "sshd -T -C user=root,host=x,addr=1.2.3.4",
        "ufw status numbered",
        "timedatectl show -p NTP --value",
    ],
    "inspection": [
        "lsof -i :80",
        "lsof -nP -iTCP -sTCP:LISTEN",
        "lsof -p 1234",
        "dig example.com",
        "dig +short A example.com",
        "dig @1.1.1.1 example.com MX",
        "host example.com",
        "getent passwd",
        "getent group sudo",
        "getent hosts example.com",
        "top -b -n 1",
        "top -bn1",
        "free -m",
        "vmstat 1 5",
        "iostat -x",
        "lsblk -f",
        "lsmem",
        "lspci -k",
        "lsusb",
        "lsmod",
        "findmnt -t ext4",
        "runlevel",
        "uptime -p",
        "w -h",
        "who -b",
        "last -n 20",
        "tree -L 2 /etc/nginx",
        "getent -s files passwd root",
        "top -b -n1 -p 1 -c",
        "lspci -nnk",
        "pgrep -a nginx",
        "pidof sshd",
        "netstat -tulpn",
    ],
}

NOT_READ_ONLY: dict[str, list[tuple[str, str]]] = {
    "ip": [
        ("ip vrf e default id", "exec"),
        ("ip vrf exec default id", "exec"),
        ("ip r d default", "delete"),
        ("ip route del default", "delete"),
        ("ip l s eth0 down", "set"),
        ("ip a f dev eth0", "flush"),
        ("ip r sa", "save"),
        ("ip -b /tmp/cmds", "-batch"),
        ("ip -batch /tmp/cmds", "-batch"),
        ("ip -fo a", "-force"),
        ("ip netns exec blue id", "exec"),
        ("ip netns e blue id", "exec"),
        ("ip -all netns exec id", "exec"),
        ("ip xfrm state", "xfrm"),
        ("ip x s", "xfrm"),
        ("ip monitor", "monitor"),
        ("ip link add dummy0 type dummy", "add"),
        ("ip a dev eth0", "dev"),
        ("ip -br addr sa", "save"),
        ("ip --batch /tmp/cmds", "-batch"),
        ("ip nexthop bucket show", "bucket"),
        ("ip tcp_m remove", "remove"),
        ("ip -- netns add show", "add"),  # `--` ends ip's options: not `-loops netns`
    ],
    "ss": [
        ("ss -D /tmp/dump", "-D"),
        ("ss --diag=/tmp/dump", "--diag"),
        ("ss --di /tmp/dump", "--diag"),
        ("ss -K dst 10.0.0.1", "-K"),
        ("ss -tK dst 10.0.0.1", "-K"),
        ("ss --kill dst 10.0.0.1", "--kill"),
        ("ss -F /etc/filters", "-F"),
        ("ss --fil=/etc/filters", "--filter"),
    ],
    "systemctl": [
        ("systemctl show nginx", "environment"),
        ("systemctl show -p Environment chavion", "Environment"),
        ("systemctl show --property=ActiveState,Environment x", "Environment"),
        ("systemctl --failed stop nginx", "stop"),
        ("systemctl restart nginx", "restart"),
        ("systemctl -H db1 status", "-H"),
        ("systemctl --host=db1 status", "--host"),
        ("systemctl --ho=db1 status", "--host"),
        ("systemctl -M box status", "-M"),
        ("systemctl --root=/mnt is-enabled nginx", "--root"),
        ("systemctl edit nginx", "edit"),
        ("systemctl daemon-reload", "daemon-reload"),
        ("systemctl st nginx", "st"),
        ("systemctl status nginx --host=db1", "--host"),
        ("systemctl show-environment", "show-environment"),
        ("systemctl --fail status", "--fail"),
    ],
    "journalctl": [
        ("journalctl --vacuum-time=7d", "--vacuum-time"),
        ("journalctl --vacuum-s=1M", "--vacuum-size"),
        ("journalctl --rotate", "--rotate"),
        ("journalctl --flush", "--flush"),
        ("journalctl --sync", "--sync"),
        ("journalctl --relinquish-var", "--relinquish-var"),
        ("journalctl --smart-relinquish-var", "--smart-relinquish-var"),
        ("journalctl --cursor-file=/tmp/c", "--cursor-file"),
        ("journalctl --cursor-f /tmp/c", "--cursor-file"),
        ("journalctl --setup-keys", "--setup-keys"),
        ("journalctl --update-catalog", "--update-catalog"),
        ("journalctl -b --vacuum-time=1d", "--vacuum-time"),
        ("journalctl --vac=1d", "ambiguous"),
        ("journalctl --root=/mnt", "--root"),
        ("journalctl --file=/etc/shadow", "/etc/shadow"),
    ],
    "iptables": [
        ("iptables -L -Z", "-Z"),
        ("iptables -nvLZ", "-Z"),
        ("iptables -Z", "-Z"),
        ("iptables -A INPUT -p tcp --dport 443 -j ACCEPT", "-A"),
        ("iptables -D INPUT 1", "-D"),
        ("iptables -I INPUT -j ACCEPT", "-I"),
        ("iptables -N mychain", "-N"),
        ("iptables -E old new", "-E"),
        ("iptables -L --modprobe=/tmp/x", "--modprobe"),
        ("ip6tables -A INPUT -j ACCEPT", "-A"),
        ("iptables -t evil -L", "-t evil"),
        ("iptables --mod=/tmp/x -L", "--modprobe"),
        ("iptables -M /tmp/x -L", "-M"),
        ("iptables -L -C INPUT -j DROP", "-C"),
    ],
    "nft": [
        ("nft add table inet x", "add"),
        ("nft 'list ruleset; flush ruleset'", ";"),
        ("nft list ruleset \\; flush ruleset", ";"),
        ("nft $'list ruleset\\nflush ruleset'", "newline"),
        ("nft -f /etc/nftables.conf", "-f"),
        ("nft list ruleset -f /tmp/x", "-f"),
        ("nft -i", "-i"),
        ("nft list ruleset '{'", "{"),
        ("nft -cf /tmp/x", "-c"),
    ],
    "sysctl": [
        ("sysctl -w vm.swappiness=10", "-w"),
        ("sysctl vm.swappiness=10", "vm.swappiness=10"),
        ("sysctl -p", "-p"),
        ("sysctl -p /etc/sysctl.d/99-x.conf", "-p"),
        ("sysctl --load=/tmp/x", "--load"),
        ("sysctl -f -", "-f"),
        ("sysctl --system", "--system"),
        ("sysctl --sys", "--system"),
        ("sysctl --wr kernel.x=1", "--write"),
        ("sysctl -pw", "-p"),
        ("sysctl --l=/tmp/x", "--load"),
        ("sysctl net.ipv4.ip_forward=0 --dry-run", "--dry-run"),
        ('sysctl "net.ipv4.$K"', "key=value"),  # K=ip_forward=1 would write
    ],
    "dmesg": [
        ("dmesg -c", "-c"),
        ("dmesg -C", "-C"),
        ("dmesg -Tc", "-c"),
        ("dmesg --clear", "--clear"),
        ("dmesg --cl", "--clear"),
        ("dmesg --read-clear", "--read-clear"),
        ("dmesg -D", "-D"),
        ("dmesg -E", "-E"),
        ("dmesg -n 1", "-n"),
        ("dmesg --console-level 1", "--console-level"),
        ("dmesg --console-of", "--console-off"),
        ("dmesg --con", "ambiguous"),
        ("dmesg -rC", "-C"),
        ("dmesg -F /etc/shadow", "/etc/shadow"),
    ],
    "ps": [
        ("ps e", "e"),
        ("ps auxe", "e"),
        ("ps eww", "e"),
        ("ps -o pid,environ", "environ"),
        ("ps axo pid,env", "env"),
        ("ps -Ao ENVIRON", "environ"),
        ("ps --format=pid,environ", "environ"),
        ("ps -e e", "`e`"),
        ("ps -o $F", "-o"),
        ("ps $X", "$X"),
        ("ps -n /etc/shadow", "-n"),
    ],
    "date": [
        ("date -s '2020-01-01'", "-s"),
        ("date --set=2020-01-01", "--set"),
        ("date --s=2020-01-01", "--set"),
        ("date --se 2020-01-01", "--set"),
        ("date 010203042025", "010203042025"),
        ("date -u 0101000025", "0101000025"),
        ("date -f /etc/shadow", "/etc/shadow"),
        ("date +%s 0101", "0101"),
        ("date --r=x", "ambiguous"),
    ],
    "docker": [
        ("docker exec web id", "exec"),
        ("docker run --rm alpine id", "run"),
        ("docker cp web:/etc/passwd /tmp/p", "cp"),
        ("docker -H tcp://10.0.0.1:2375 ps", "-H"),
        ("docker --context prod ps", "--context"),
        ("docker stats", "--no-stream"),
        ("docker inspect web", "inspect"),
        ("docker compose up -d", "up"),
        ("docker compose config", "config"),
        ("docker container inspect web", "inspect"),
        ("docker compose --env-file /srv/app/.env ps", ".env"),
        ("docker top web", "top"),
        ("docker ps web", "web"),
    ],
    "git": [
        ("git -c core.pager=sh log", "-c"),
        ("git -C /srv/app status", "-C"),
        ("git --exec-path=/tmp status", "--exec-path"),
        ("git log --output=/tmp/x", "--output"),
        ("git diff --output=/tmp/x", "--output"),
        ("git show --output=/tmp/x HEAD", "--output"),
        ("git diff --ext-diff", "--ext-diff"),
        ("git log -p --textconv", "--textconv"),
        ("git branch -d old", "-d"),
        ("git branch -D old", "-D"),
        ("git branch -m a b", "-m"),
        ("git branch new-feature", "new-feature"),
        ("git branch --set-upstream-to=origin/main", "--set-upstream-to"),
        ("git remote add x https://example.com/x.git", "add"),
        ("git remote remove origin", "remove"),
        ("git remote set-url origin x", "set-url"),
        ("git remote update", "update"),
        ("git remote show origin", "origin"),
        ("git pull", "pull"),
        ("git show HEAD:.env", ".env"),
        ("git diff -- .env", ".env"),
        ("git log --outp=/tmp/x", "--outp"),
        ("git log --show-signature", "--show-signature"),
        ("git -c alias.st='!id' st", "-c"),
        ("git --git-dir=/tmp/x log", "--git-dir"),
        ("git st", "st"),
        ("git branch -dr origin/x", "-d"),
        ("git branch --list 'f*'", "f*"),
    ],
    "crontab": [
        ("crontab -e", "-e"),
        ("crontab -r", "-r"),
        ("crontab -u www-data -r", "-r"),
        ("crontab /tmp/jobs", "/tmp/jobs"),
        ("crontab -u www-data /tmp/jobs", "/tmp/jobs"),
        ("crontab -u www-data", "-l"),
        ("crontab -u -l", "-l"),
        ("crontab -l /tmp/x", "/tmp/x"),
        ("crontab -", "-"),
    ],
    "dpkg": [
        ("dpkg -i /tmp/x.deb", "-i"),
        ("dpkg -r nginx", "-r"),
        ("dpkg --set-selections", "--set-selections"),
        ("dpkg --configure -a", "--configure"),
    ],
    "apt": [
        ("apt install htop", "install"),
        ("apt -o APT::Update::Pre-Invoke::=id list", "-o"),
        ("apt-cache gencaches", "gencaches"),
    ],
    "daemons": [
        ("sshd -t -f /tmp/evil_config", "-f"),
        ("nginx -s reload", "-s"),
        ("nginx -g 'load_module /tmp/x.so;' -t", "-g"),
        ("nginx -c /tmp/nginx.conf -t", "-c"),
        ("nginx", "-t"),
        ("sshd", "-t"),
        ("sshd -d", "-d"),
        ("ufw allow 443/tcp", "allow"),
        ("ufw --force enable", "--force"),
        ("timedatectl set-time '2020-01-01'", "set-time"),
        ("timedatectl -H db1 status", "-H"),
        ("hostnamectl hostname evil", "hostname"),
        ("sshd -t -f /etc/shadow", "/etc/shadow"),
        ("sshd -p 2222 -t", "-p"),
        ("nginx -t -c /etc/nginx/nginx.conf", "-c"),
        ("apt-cache -o Dir::Cache=/tmp policy", "-o"),
        ("ufw --dry-run allow 22", "--dry-run"),
        ("timedatectl set-ntp true", "set-ntp"),
    ],
    "inspection": [
        ("lsof -D b", "-D"),
        ("dig -f /tmp/names", "-f"),
        ("dig -k /etc/bind/rndc.key example.com", "-k"),
        ("getent shadow", "shadow"),
        ("getent gshadow", "gshadow"),
        ("top", "-b"),
        ("top -b", "-n"),
        ("tree -o /tmp/out /etc", "-o"),
        ("tree -R -H . -L 1 /srv", "-R"),
        ("getent", "subcommand"),
        ("top -n 1", "-b"),
        ("lspci -xxx", "-x"),
        ("dig -f/tmp/x", "-f"),
    ],
}


def _read_only_rows() -> list[object]:
    return [
        pytest.param(command, id=f"{tool}: {command}")
        for tool, commands in READ_ONLY.items()
        for command in commands
    ]


def _not_read_only_rows() -> list[object]:
    return [
        pytest.param(command, named, id=f"{tool}: {command}")
        for tool, rows in NOT_READ_ONLY.items()
        for command, named in rows
    ]


@pytest.mark.parametrize("command", _read_only_rows())
def test_read_only_use_is_auto_approved(command: str) -> None:
    decision = judge(command)
    assert decision.verdict is Verdict.ALLOW, f"{command!r} -> {decision}"
    assert decision.rule == "readonly"


@pytest.mark.parametrize(("command", "named"), _not_read_only_rows())
def test_writing_executing_or_leaking_use_is_not_auto_approved(command: str, named: str) -> None:
    decision = judge(command)
    assert decision.verdict is not Verdict.ALLOW, f"{command!r} -> {decision}"
    if decision.verdict is Verdict.NEEDS_APPROVAL:
        assert named in decision.reason, f"{command!r}: the reason should name {named!r}"
        assert "only reads" not in decision.reason, decision.reason


# The issue's own examples, kept apart so that they are easy to find.
ISSUE_FALSE_POSITIVES = [
    "ps -o pid,user,etime",
    "ip -br a",
    "crontab -l -u www-data",
    "iptables -t nat -L -n",
    "git remote show",
]
ISSUE_ABBREVIATIONS_AND_WRITING_OPTIONS = [
    "ip vrf e default id",
    "ip r d default",
    "systemctl --failed stop nginx",
    "ss -D /tmp/dump",
    "journalctl --cursor-file=/tmp/cursor",
    "sysctl -f -",
    "nft $'list ruleset\\nflush ruleset'",
    "dmesg --cl",
    "date --s=2020-01-01",
]


@pytest.mark.parametrize("command", ISSUE_FALSE_POSITIVES)
def test_the_issues_false_positives_are_auto_approved(command: str) -> None:
    assert judge(command).verdict is Verdict.ALLOW


@pytest.mark.parametrize("command", ISSUE_ABBREVIATIONS_AND_WRITING_OPTIONS)
def test_the_issues_abbreviations_and_writing_options_are_not(command: str) -> None:
    assert judge(command).verdict is not Verdict.ALLOW


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("crontab -u www-data -l", "-l"),
        ("crontab -lu www-data", "-l"),
        ("top -bn1", "-b"),
        ("top -bn1", "-n"),
        ("nginx -tq", "-t"),
    ],
)
def test_the_walk_reports_the_options_used_under_their_first_name(
    command: str, option: str
) -> None:
    name, *words = command.split()
    reading = read_tool(name, [literal_arg(w) for w in words])
    assert reading is not None
    assert reading.problem is None
    assert option in reading.options


def test_an_option_given_as_another_options_value_is_not_used() -> None:
    reading = read_tool("crontab", [literal_arg("-u"), literal_arg("-l")])
    assert reading is not None
    assert reading.options == ("-u",)
    assert reading.problem is not None
    assert "`-l`" in reading.problem

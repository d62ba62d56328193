"""The built-in forbid list, one check per command: recursive deletes, chmod/chown of system
paths, writes onto disks, mkfs and partitioning, kills of sshd or init, power and runlevel
changes, firewall wipes, reverse shells, deleting root.

No configuration or permission level can switch these off. Each check returns hits; it sees
only the analysis state (to resolve paths against the working directory).
"""

from __future__ import annotations

import re
from dataclasses import replace
from fnmatch import fnmatchcase

from executor.policy.hazards import (
    asks_for_help,
    is_critical,
    is_device,
    pid_hits,
    service_hits,
    through_proc_root,
    unit_hits,
    write_hits,
)
from executor.policy.knowledge import (
    BUILTIN_CHAINS,
    CRITICAL_FILES,
    DANGER_TARGETS,
    DEVICE_SAMPLES,
    INIT_LINES,
    INIT_NAMES,
    POWER_VERBS,
    SSHD_LINES,
    SSHD_NAMES,
    word_set,
)
from executor.policy.model import Verdict
from executor.policy.registry import Registry
from executor.policy.state import AnalysisState, Check
from executor.policy.values import (
    APPROVE,
    FORBID,
    Arg,
    Hit,
    Options,
    Stream,
    StreamKind,
    literal_arg,
    normalize_path,
    parse_options,
    with_note,
)

CHECKS: Registry[Check] = Registry()
check = CHECKS.register


def _is_iptables(name: str) -> bool:
    """iptables and its kin (ip6tables-nft, ebtables...), but not their -save/-restore tools."""
    return name.startswith(
        ("iptables", "ip6tables", "ebtables", "arptables")
    ) and not name.endswith(("-save", "-restore"))


@check("rm", "unlink")
def check_rm(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """rm/unlink: recursive deletes of `/` or system directories, deleting critical files."""
    o = parse_options(argv[1:])
    recursive = argv[0].value.rsplit("/", 1)[-1] == "rm" and (o.has("r", "recursive") or o.has("R"))
    hits: list[Hit] = []
    for target in o.positionals:
        if recursive and target.dynamic:
            state.warn(
                f"the target of this `rm -r` is computed at run time ({target.raw}): "
                "check what it expands to before approving"
            )
            hits.append(
                Hit(
                    APPROVE,
                    "computed-target",
                    f"deletes a target computed at run time ({target.raw}) recursively",
                )
            )
            continue
        candidates = [target]
        if recursive and target.taint is StreamKind.STATIC and "\n" in target.value:
            # `"$(printf '\x2f')"`: the substitution's output may be any of its lines.
            candidates += [replace(target, value=line) for line in target.value.splitlines()]
        for candidate in candidates:
            hits.extend(_rm_hits(state, candidate, recursive=recursive))
    return hits


def _rm_hits(state: AnalysisState, target: Arg, *, recursive: bool) -> list[Hit]:
    """What deleting one known target means: `/`, a system directory or a critical file."""
    hits: list[Hit] = []
    for path in state.resolve(target):
        if path is None:
            continue
        desc = state.danger(path, target.glob) if recursive else None
        if desc:
            what = with_note(f"deletes {desc} recursively", target.note)
            hits.append(Hit(FORBID, "recursive-delete", what))
        elif is_critical(path, target.glob):
            hits.append(
                Hit(
                    FORBID,
                    "critical-file",
                    with_note(f"deletes {path}, which locks everyone out", target.note),
                )
            )
    return hits


@check("chmod", "chown", "chgrp", "setfacl")
def check_chmod(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """chmod/chown/chgrp/setfacl: recursive changes of `/` or system directories."""
    name = argv[0].value.rsplit("/", 1)[-1]
    args = argv[1:]
    recursive = False
    positionals: list[Arg] = []
    letters = "cfvR" if name == "chmod" else "RhHLPcfv"
    done = False
    for a in args:
        v = a.value
        if done or a.dynamic:
            positionals.append(a)
        elif v == "--":
            done = True
        elif v in ("--recursive",) or (re.fullmatch(f"-[{letters}]+", v) is not None and "R" in v):
            recursive = True
        elif v.startswith("--") or re.fullmatch(f"-[{letters}]+", v):
            continue
        elif name == "setfacl" and v.startswith("-"):
            recursive = recursive or "R" in v
        else:
            positionals.append(a)
    if not recursive:
        return []
    skip = 0 if name == "setfacl" or any(a.value.startswith("--reference") for a in args) else 1
    hits: list[Hit] = []
    verb = {"chmod": "changes the permissions of", "setfacl": "changes the ACLs of"}.get(
        name, "changes the owner of"
    )
    for target in positionals[skip:]:
        for path in state.resolve(target):
            desc = None if path is None else state.danger(path, target.glob)
            if desc:
                what = with_note(f"{verb} {desc} recursively", target.note)
                hits.append(Hit(FORBID, "recursive-chmod", what))
    return hits


@check("dd")
def check_dd(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """dd: `of=` onto a disk, raw memory or a critical file."""
    hits: list[Hit] = []
    for a in argv[1:]:
        if not a.dynamic and a.value.startswith("of="):
            target = replace(a, value=a.value[3:])
            for path in state.resolve(target):
                if path is not None:
                    hits.extend(write_hits(path, target))
    return hits


def _disk_operands(state: AnalysisState, args: tuple[Arg, ...]) -> list[str]:
    """The operands of a formatting or wiping tool that are or may be a disk: anything under
    /dev (also through /proc/PID/root, or as an option's value: `-R=/dev/sdb`,
    `device=/dev/sdb`), a value known only at run time, a glob that can match a disk, a
    relative path that names a disk from /dev (`sda1`) or climbs (`../`) from a directory
    the policy does not know. An image file elsewhere is not one."""
    disks: list[str] = []
    for arg in args:
        if arg.dynamic:
            disks.append(arg.raw)
            continue
        word = arg.value
        values = re.split(r"[=:,]", word)[1:]
        if not word.startswith("-"):
            pieces = [word, *values]
        elif word.startswith("--"):
            pieces = values
        else:  # `-R/dev/sdb`: a short option with its value attached
            pieces = [word[2:], *values]
        if any(_may_be_disk(state, replace(arg, value=piece)) for piece in pieces if piece):
            disks.append(word)
    return disks


def _may_be_disk(state: AnalysisState, arg: Arg) -> bool:
    """Whether one path-like word can name a disk (see `_disk_operands`)."""
    for path in state.resolve(arg):
        if path is None:  # the working directory is unknown: is `sda1` a disk there?
            relative = normalize_path(arg.value)
            if relative.startswith("..") or is_device("/dev/" + relative):
                return True
            continue
        inner = through_proc_root(path) or path
        if inner == "/dev" or inner.startswith("/dev/"):
            return True
        if arg.glob and any(fnmatchcase(sample, path) for sample in DEVICE_SAMPLES):
            return True
    return False


@check("mke2fs", "mkdosfs", "mkntfs", "mkexfatfs", family=lambda name: name.startswith("mkfs"))
def check_mkfs(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """mkfs and its kin: formatting erases whatever is on the device; an image file (a path
    outside /dev) needs approval, `--help` and `--version` never act."""
    if asks_for_help(argv):
        return []
    disks = _disk_operands(state, argv[1:])
    files = [a.value for a in argv[1:] if not a.dynamic and not a.value.startswith("-")]
    if disks or not files:
        target = disks[-1] if disks else "a disk"
        return [Hit(FORBID, "mkfs", f"formats {target}, erasing everything on it")]
    return [Hit(APPROVE, "mkfs", f"formats the image file {files[-1]}, erasing its contents")]


@check(
    "mkswap",
    "wipefs",
    "blkdiscard",
    "sgdisk",
    "sfdisk",
    "parted",
    "cryptsetup",
    "badblocks",
    "hdparm",
    "zpool",
)
def check_device_tool(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """Partitioning and wiping tools: wipefs, sgdisk, sfdisk, parted, blkdiscard..."""
    name = argv[0].value.rsplit("/", 1)[-1]
    if asks_for_help(argv):
        return []
    o = parse_options(argv[1:], word_set("-o --offset -t --types -b --block-size -c"))
    words = [a.value for a in o.positionals if not a.dynamic]
    devices = [w for w in words if is_device(w)]
    dev = devices[0] if devices else "a disk"
    if name in ("wipefs", "blkdiscard", "sgdisk"):
        if o.positionals and not _disk_operands(state, argv[1:]):
            return _wipe_hits(name, o, APPROVE, f"the image file {o.positionals[-1].value}")
        return _wipe_hits(name, o, FORBID, dev)
    if name == "mkswap":
        return [Hit(FORBID, "mkfs", f"formats {d} as swap, erasing it") for d in devices]
    if name == "sfdisk":
        listing = ("l", "d", "J", "s", "V", "g", "F")
        if any(o.has(s) for s in listing) or any(
            o.has(long=k) for k in ("list", "dump", "json", "show-size", "verify", "list-free")
        ):
            return []
        return [Hit(FORBID, "disk-wipe", f"rewrites the partition table of {d}") for d in devices]
    if name == "parted":
        if devices and set(words) & {"mklabel", "mktable", "rm", "mkpart", "resizepart"}:
            return [Hit(FORBID, "disk-wipe", f"rewrites the partition table of {dev}")]
        return []
    if name == "cryptsetup":
        if set(words) & {"luksFormat", "erase", "luksErase"}:
            return [Hit(FORBID, "disk-wipe", f"destroys the encrypted volume on {dev}")]
        return []
    if name == "badblocks":
        if o.has("w"):
            return [Hit(FORBID, "disk-wipe", f"overwrites {dev} with test patterns")]
        return []
    if name == "hdparm":
        erase = ("--security-erase", "--trim-sector", "--write-sector")
        if any(f.startswith(erase) for f in o.flags):
            return [Hit(FORBID, "disk-wipe", f"erases {dev}")]
        return []
    if name == "zpool":
        if words[:1] and words[0] in ("destroy", "labelclear"):
            return [Hit(FORBID, "disk-wipe", "destroys a ZFS pool and its data")]
        return []
    return []


def _wipe_hits(name: str, o: Options, verdict: Verdict, target: str) -> list[Hit]:
    """wipefs -a, blkdiscard, sgdisk -Z: what wiping `target` means (forbidden on a disk,
    approval for an image file)."""
    if name == "wipefs" and (o.has("a", "all") or o.has("o", "offset")):
        return [Hit(verdict, "disk-wipe", f"wipes the filesystem signatures on {target}")]
    if name == "blkdiscard":
        return [Hit(verdict, "disk-wipe", f"discards every block on {target}, erasing it")]
    if name == "sgdisk" and (o.has("Z", "zap-all") or o.has("o", "clear") or o.has("z", "zap")):
        return [Hit(verdict, "disk-wipe", f"wipes the partition table of {target}")]
    return []


@check("shred", "truncate", "tee", "cp", "install", "ln", "mv")
def check_files(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """Commands that write to or replace the files they name: shred, truncate, cp, mv..."""
    name = argv[0].value.rsplit("/", 1)[-1]
    value_opts = word_set("-s --size -r --reference -o -n --iterations -t --target-directory -S -m")
    o = parse_options(argv[1:], value_opts)
    pos = o.positionals
    hits: list[Hit] = []
    targets: list[Arg] = []
    if name in ("shred", "truncate", "tee"):
        targets = pos
    elif name in ("cp", "install", "ln", "mv"):
        target_dir = o.values.get("-t") or o.values.get("--target-directory")
        if target_dir:
            targets = [literal_arg(target_dir)]
        elif len(pos) >= 2:
            targets = [pos[-1]]
    if name == "mv":
        has_target = bool(o.values.get("-t") or o.values.get("--target-directory"))
        sources = pos if has_target else pos[:-1]
        for source in sources:
            for path in state.resolve(source):
                if path is None:
                    continue
                desc = state.danger(path, source.glob)
                if desc:
                    what = f"moves {desc} away, breaking the system"
                    hits.append(Hit(FORBID, "recursive-delete", what))
                elif is_critical(path, source.glob):
                    what = f"moves {path} away, locking everyone out"
                    hits.append(Hit(FORBID, "critical-file", what))
    for target in targets:
        for path in state.resolve(target):
            if path is None:
                continue
            if name == "ln" and path in CRITICAL_FILES:
                hits.append(Hit(FORBID, "critical-file", f"replaces {path}, locking everyone out"))
            elif name == "shred" and is_critical(path, target.glob):
                hits.append(Hit(FORBID, "critical-file", f"destroys {path}, locking everyone out"))
            elif name == "shred" and is_device(path):
                hits.append(Hit(FORBID, "device-write", f"overwrites the disk {path}"))
            else:
                hits.extend(write_hits(path, target, append=name == "tee" and o.has("a", "append")))
    return hits


@check("sed")
def check_sed(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """sed -i: editing a critical file in place."""
    o = parse_options(argv[1:], word_set("-e --expression -f --file -l --line-length"))
    in_place = any(
        f.startswith("--in-place") or (not f.startswith("--") and "i" in f[1:]) for f in o.flags
    )
    if not in_place:
        return []
    hits: list[Hit] = []
    for a in o.positionals:
        for path in state.resolve(a):
            if path is not None and path in CRITICAL_FILES:
                hits.append(Hit(FORBID, "critical-file", f"edits {path} in place"))
    return hits


@check("rsync")
def check_rsync(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """rsync --delete onto `/` or a system directory deletes what the source lacks."""
    o = parse_options(
        argv[1:], word_set("-e --rsh --exclude --include --filter -f --files-from -B")
    )
    if not any(f.startswith(("--delete", "--del")) for f in o.flags) or len(o.positionals) < 2:
        return []
    dest = o.positionals[-1]
    if dest.dynamic or re.match(r"[^/]*:", dest.value) or dest.value.startswith("rsync://"):
        return []
    hits: list[Hit] = []
    for path in state.resolve(dest):
        desc = None if path is None else state.danger(path, dest.glob)
        if desc:
            hits.append(
                Hit(FORBID, "recursive-delete", f"deletes whatever in {desc} is not in the source")
            )
    return hits


@check("kill")
def check_kill(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """kill: PID 1, every process (-1), or PIDs found by looking up sshd or init."""
    args = argv[1:]
    signal: str | None = None
    pids: list[Arg] = []
    done = False
    i = 0
    while i < len(args):
        a = args[i]
        v = a.value
        if a.dynamic or done:
            pids.append(a)
        elif v == "--":
            done = True
        elif v in ("-s", "-n", "--signal"):
            signal = args[i + 1].value if i + 1 < len(args) else ""
            i += 1
        elif v.startswith("--signal="):
            signal = v.split("=", 1)[1]
        elif v in ("-l", "-L", "--list", "--table"):
            return []
        elif v.startswith("-") and signal is None and not pids:
            signal = v[1:]
        else:
            pids.append(a)
        i += 1
    if signal in ("0", "SIG0"):
        return []
    return pid_hits(pids, signal)


@check("pkill")
def check_pkill(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """pkill: patterns that match sshd or init (by name, or by full line with -f)."""
    value_opts = word_set(
        "-g -G -P -s -t -u -U -F --signal --pgroup --group --parent --session --terminal"
        " --euid --uid --pidfile --ns --nslist --cgroup"
    )
    o = parse_options(argv[1:], value_opts)
    if o.has("0") or o.values.get("--signal") == "0":
        return []
    users = [o.values.get(k, "") for k in ("-u", "-U", "--euid", "--uid")]
    if o.has("v", "inverse"):
        return [
            Hit(FORBID, "kill-all", "kills every process that does not match, sshd and init too")
        ]
    patterns = [a for a in o.positionals if not re.fullmatch(r"-?\d+", a.value)]
    if not patterns:
        if any(u in ("root", "0") for u in users):
            return [Hit(FORBID, "kill-sshd", "kills every process of root, sshd included")]
        return []
    pattern = patterns[0]
    if pattern.dynamic:
        return []
    try:
        rx = re.compile(pattern.value, re.I if o.has("i", "ignore-case") else 0)
    except re.error:
        return []
    full = o.has("f", "full")
    exact = o.has("x", "exact")

    def matches(lines: tuple[str, ...]) -> bool:
        return any(rx.fullmatch(line) if exact else rx.search(line) for line in lines)

    if matches(SSHD_LINES if full else SSHD_NAMES):
        return [Hit(FORBID, "kill-sshd", "kills sshd, which cuts off remote access to the machine")]
    if matches(INIT_LINES if full else INIT_NAMES):
        return [Hit(FORBID, "kill-init", "kills init (PID 1), which brings the whole machine down")]
    return []


@check("killall", "killall5")
def check_killall(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """killall/killall5: sshd, init, every process, or every process of root."""
    name = argv[0].value.rsplit("/", 1)[-1]
    if name == "killall5":
        if any(a.value in ("-0", "-l") for a in argv[1:]):
            return []
        return [Hit(FORBID, "kill-all", "kills every process on the machine")]
    o = parse_options(
        argv[1:], word_set("-s --signal -u --user -o --older-than -y --younger-than -n --ns -Z")
    )
    if o.has("0") or o.values.get("-s") == "0":
        return []
    users = [o.values.get("-u", ""), o.values.get("--user", "")]
    names = [a for a in o.positionals if not a.dynamic]
    if not o.positionals and any(u in ("root", "0") for u in users):
        return [Hit(FORBID, "kill-sshd", "kills every process of root, sshd included")]
    regex = o.has("r", "regexp")
    for a in names:
        for targets, rule, what in (
            (SSHD_NAMES, "kill-sshd", "kills sshd, which cuts off remote access"),
            (INIT_NAMES, "kill-init", "kills init (PID 1), which brings the machine down"),
        ):
            if regex:
                try:
                    hit = any(re.search(a.value, t) for t in targets)
                except re.error:
                    hit = False
            else:
                hit = a.value.rsplit("/", 1)[-1] in targets
            if hit:
                return [Hit(FORBID, rule, what)]
    return []


@check("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "kexec", "loginctl")
def check_power(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """shutdown/reboot/halt/init/kexec/loginctl: the machine goes down or away."""
    name = argv[0].value.rsplit("/", 1)[-1]
    words = [a.value for a in argv[1:] if not a.dynamic]
    if "--help" in words:
        return []
    if name == "shutdown":
        if "-c" in words or "--cancel" in words:
            return []
        if any(w in ("-r", "--reboot") for w in words):
            return [Hit(FORBID, "power", "reboots the machine")]
        return [Hit(FORBID, "power", "shuts the machine down")]
    if name in ("init", "telinit"):
        levels = [w for w in words if not w.startswith("-")]
        if levels and levels[0] not in ("q", "Q", "u", "U"):
            return [Hit(FORBID, "power", f"switches the runlevel to {levels[0]}")]
        return []
    if name == "kexec":
        if any(w in ("-e", "--exec") for w in words) or not any(
            w in ("-l", "--load", "-p", "--load-panic", "-u", "--unload", "-s") for w in words
        ):
            return [Hit(FORBID, "power", "reboots the machine into another kernel")]
        return []
    if name == "loginctl":
        verbs = [w for w in words if not w.startswith("-")]
        if verbs and verbs[0] in POWER_VERBS:
            return [Hit(FORBID, "power", POWER_VERBS[verbs[0]])]
        return []
    phrase = {"reboot": "reboots", "halt": "halts", "poweroff": "powers off"}.get(name, "stops")
    return [Hit(FORBID, "power", f"{phrase} the machine")]


@check("systemctl")
def check_systemctl(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """systemctl: power verbs, runlevel targets, stopping sshd or the firewall."""
    value_opts = word_set(
        "-t --type -p --property -H --host -M --machine -s --signal --kill-whom --kill-value"
        " --job-mode -n --lines -o --output --state --root --what --timestamp"
        " --boot-loader-entry --reboot-argument --message --image --drop-in --when"
    )
    o = parse_options(argv[1:], value_opts)
    pos = o.positionals
    if not pos or pos[0].dynamic:
        return []
    verb, units = pos[0].value, pos[1:]
    if verb in POWER_VERBS:
        return [Hit(FORBID, "power", POWER_VERBS[verb])]
    hits: list[Hit] = []
    if verb in ("isolate", "set-default", "start", "restart", "reload-or-restart", "enable"):
        for u in units:
            unit = u.value if "." in u.value else f"{u.value}.target"
            if verb == "isolate":
                return [Hit(FORBID, "power", f"switches the machine to {unit} (a runlevel change)")]
            if not u.dynamic and unit in DANGER_TARGETS:
                hits.append(Hit(FORBID, "power", f"switches the machine to {unit}"))
    if verb in ("stop", "kill", "mask", "freeze") or (verb == "disable" and o.has(long="now")):
        for u in units:
            hits.extend(unit_hits(u))
    return hits


@check("service", "invoke-rc.d", "rc-service")
def check_service(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """service/invoke-rc.d/rc-service: stopping sshd or the firewall."""
    pos = [a for a in argv[1:] if a.dynamic or not a.value.startswith("-")]
    if len(pos) < 2:
        return []
    return service_hits(pos[0].value, pos[1])


@check(family=_is_iptables)
def check_iptables(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """iptables and kin: flushing rules, deleting chains, a DROP input policy. Flushing one
    user-defined chain (`-F DOCKER-USER`) needs approval; flushing every chain, a built-in
    chain (INPUT...) or a chain named only at run time stays forbidden."""
    args = argv[1:]
    values = [a.value for a in args if not a.dynamic]
    for k, v in enumerate(values):
        short = v.startswith("-") and not v.startswith("--")
        if (
            v == "--flush"
            or v.startswith("--flush=")
            or (short and re.fullmatch(r"-[A-Za-z]*F[A-Za-z]*", v))
        ):
            chain = _flushed_chain(args, v)
            if chain is None or chain in BUILTIN_CHAINS:
                return [Hit(FORBID, "firewall", "flushes the firewall rules")]
            return [Hit(APPROVE, "firewall", f"flushes the rules of the chain {chain}")]
        if v == "--delete-chain" or (short and re.fullmatch(r"-[A-Za-z]*X[A-Za-z]*", v)):
            return [Hit(FORBID, "firewall", "deletes firewall chains")]
        if v in ("-P", "--policy") and k + 2 < len(values):
            chain, target = values[k + 1], values[k + 2]
            if chain in ("INPUT", "OUTPUT") and target in ("DROP", "REJECT"):
                return [
                    Hit(
                        FORBID,
                        "firewall",
                        f"sets the default {chain} policy to {target}, cutting off remote access",
                    )
                ]
    return []


def _flushed_chain(args: tuple[Arg, ...], flag: str) -> str | None:
    """The one chain `-F`/`--flush` names (`-F CHAIN`, `-vF CHAIN`, `--flush=CHAIN`), or None
    when it flushes every chain or the chain is not known exactly. `-Fx` stays None: whether
    `x` is a chain or more flags depends on the tool's parser."""
    if flag.startswith("--flush="):
        return flag.partition("=")[2] or None
    if flag != "--flush" and not flag.endswith("F"):
        return None
    index = next(k for k, a in enumerate(args) if not a.dynamic and a.value == flag)
    after = args[index + 1] if index + 1 < len(args) else None
    if after is None or after.dynamic or after.glob or after.value.startswith("-"):
        return None
    return after.value or None


@check("nft")
def check_nft(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """nft: flushing the ruleset or deleting tables and chains."""
    text = " ".join(a.value for a in argv[1:] if not a.dynamic).replace(";", " ; ")
    tokens = [t.lower() for t in text.split()]
    for k, t in enumerate(tokens[:-1]):
        if t == "flush" and tokens[k + 1] in ("ruleset", "table", "chain"):
            return [Hit(FORBID, "firewall", "wipes the nftables firewall rules")]
        if t == "delete" and tokens[k + 1] in ("table", "chain"):
            return [Hit(FORBID, "firewall", "deletes nftables firewall rules")]
    return []


@check("ufw")
def check_ufw(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """ufw: disabling or resetting the firewall."""
    words = [a.value for a in argv[1:] if not a.dynamic and not a.value.startswith("-")]
    if words[:1] == ["disable"]:
        return [Hit(FORBID, "firewall", "turns the firewall off")]
    if words[:1] == ["reset"]:
        return [Hit(FORBID, "firewall", "deletes all firewall rules")]
    return []


@check("firewall-cmd")
def check_firewall_cmd(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """firewall-cmd --panic-on drops all traffic, SSH included."""
    if any(a.value == "--panic-on" for a in argv[1:]):
        return [Hit(FORBID, "firewall", "drops all network traffic, cutting off remote access")]
    return []


@check("nc", "ncat", "netcat")
def check_netcat(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """nc/ncat: `-e`/`-c` hand a shell to a network connection."""
    for a in argv[1:]:
        v = a.value
        if v in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or v.startswith(
            ("--exec=", "--sh-exec=")
        ):
            return [Hit(FORBID, "reverse-shell", "hands a shell to a network connection")]
    return []


@check("socat")
def check_socat(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """socat: exec/system joined with a network address is a reverse shell."""
    text = " ".join(a.value.lower() for a in argv[1:])
    if re.search(r"\b(?:exec|system):", text) and re.search(
        r"\b(?:tcp|udp|openssl|ssl)[46]?(?:-listen|-connect)?:", text
    ):
        return [Hit(FORBID, "reverse-shell", "hands a shell to a network connection")]
    return []


@check("userdel", "deluser")
def check_userdel(state: AnalysisState, argv: tuple[Arg, ...], stdin: Stream) -> list[Hit]:
    """userdel/deluser root."""
    if any(not a.dynamic and a.value == "root" for a in argv[1:]):
        return [Hit(FORBID, "root-account", "deletes the root account")]
    return []

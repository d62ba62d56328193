"""The shell parser the command policy stands on: it must see every command a shell would run,
and refuse (not guess at) input it cannot read. Nothing here executes anything."""

from __future__ import annotations

import pytest

from executor import shell
from executor.errors import ExecutorError
from executor.shell import (
    MAX_NESTING,
    Case,
    For,
    FunctionDef,
    Group,
    If,
    Loop,
    Part,
    Pipeline,
    Script,
    ShellSyntaxError,
    SimpleCommand,
    Word,
    brace_expand,
    decode_escapes,
    iter_commands,
    iter_simple_commands,
    parse,
)


def only_command(source: str) -> SimpleCommand:
    script = parse(source)
    assert len(script.items) == 1
    (command,) = script.items[0].first.commands
    assert isinstance(command, SimpleCommand)
    return command


def literals(source: str) -> list[str | None]:
    return [w.literal for w in only_command(source).words]


def simple_texts(source: str) -> list[str]:
    return [c.text for c in iter_simple_commands(parse(source))]


# ============================================================================================
# Words and quoting


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ls -la /var/log", ["ls", "-la", "/var/log"]),
        ("echo 'a b' \"c d\"", ["echo", "a b", "c d"]),
        ("r''m -rf /", ["rm", "-rf", "/"]),
        ('"rm" -rf /', ["rm", "-rf", "/"]),
        (r"\rm -rf /", ["rm", "-rf", "/"]),
        (r"r\m x\ y", ["rm", "x y"]),
        (r"echo 'it'\''s'", ["echo", "it's"]),
        (r"echo $'\x72\x6d' $'a\tb' $'\'q\''", ["echo", "rm", "a\tb", "'q'"]),
        (r"echo $'\162\155\057'", ["echo", "rm/"]),
        (r"echo $'\u00e9\cA'", ["echo", "é\x01"]),
        ('echo "a\\"b" "\\$x" "\\q"', ["echo", 'a"b', "$x", "\\q"]),
        ('echo $"locale"', ["echo", "locale"]),
        ("echo ''", ["echo", ""]),
        ('echo ""', ["echo", ""]),
        ("echo a\\\nb", ["echo", "ab"]),
        ("echo a#b # comment", ["echo", "a#b"]),
        ("echo {a,b} @(x|y) *.log", ["echo", "{a,b}", "@(x|y)", "*.log"]),
        ("echo trailing\\", ["echo", "trailing\\"]),
    ],
)
def test_words_after_quote_removal(source: str, expected: list[str]) -> None:
    assert literals(source) == expected


def test_word_keeps_its_source_text() -> None:
    command = only_command("echo 'a b'\"c\"$x")
    assert [w.raw for w in command.words] == ["echo", "'a b'\"c\"$x"]
    assert command.text == "echo 'a b'\"c\"$x"


def test_word_properties() -> None:
    glob, quoted, expansion = only_command("ls /etc/* '/etc/*' $HOME").words[1:]
    assert glob.unquoted_literal
    assert glob.has_glob
    assert quoted.literal == "/etc/*"
    assert not quoted.unquoted_literal
    assert not quoted.has_glob
    assert expansion.literal is None
    assert expansion.parts == (Part("param", "HOME"),)


def test_tilde() -> None:
    words = only_command("ls ~ ~/x ~deploy/y a~b '~'").words
    assert words[1].parts == (Part("tilde", ""),)
    assert words[2].parts == (Part("tilde", ""), Part("lit", "/x"))
    assert words[3].parts[0] == Part("tilde", "deploy")
    assert words[4].literal == "a~b"
    assert words[5].literal == "~"


# ============================================================================================
# Expansions


def test_parameters() -> None:
    words = only_command('echo $x ${y} "$1" $@ $? ${#z} ${!p} ${a:-/} ${b//x/y} $').words[1:]
    kinds = [(p.kind, p.text, p.op, p.quoted) for w in words for p in w.parts]
    assert kinds == [
        ("param", "x", "", False),
        ("param", "y", "", False),
        ("lit", "", "", True),
        ("param", "1", "", True),
        ("param", "@", "", False),
        ("param", "?", "", False),
        ("param", "z", "length", False),
        ("param", "p", "indirect", False),
        ("param", "a", ":-", False),
        ("param", "b", "//", False),
        ("lit", "$", "", False),
    ]
    default = words[7].parts[0].arg
    assert default is not None
    assert default.literal == "/"


def test_command_substitutions_are_parsed_recursively() -> None:
    assert simple_texts("echo $(rm -rf /) `id` <(curl x) >(sh)") == [
        "echo $(rm -rf /) `id` <(curl x) >(sh)",
        "rm -rf /",
        "id",
        "curl x",
        "sh",
    ]


def test_substitution_parts() -> None:
    (sub, tick, proc_in, proc_out) = only_command("x $(a) `b` <(c) >(d)").words[1:]
    assert sub.parts[0].kind == "cmdsub"
    assert sub.parts[0].text == "$(a)"
    assert tick.parts[0].kind == "cmdsub"
    assert (proc_in.parts[0].kind, proc_in.parts[0].op) == ("procsub", "<")
    assert (proc_out.parts[0].kind, proc_out.parts[0].op) == ("procsub", ">")
    assert [s.text for w in (sub, tick) for s in w.scripts()] == ["a", "b"]


def test_nested_quotes_inside_substitutions() -> None:
    assert simple_texts('echo "$(printf "%s" "$(id -u)")"') == [
        'echo "$(printf "%s" "$(id -u)")"',
        'printf "%s" "$(id -u)"',
        "id -u",
    ]


def test_backticks_unescape_their_content() -> None:
    assert simple_texts(r"echo `echo \`date\``") == [r"echo `echo \`date\``", "echo `date`", "date"]
    assert simple_texts('echo "`echo \\"q\\"`"')[1] == 'echo "q"'


def test_substitutions_hidden_in_odd_places() -> None:
    source = (
        "echo ${a[$(one)]} ${b:-$(two)} $(( $(three) + 1 )) $[ $(four) ]; "
        "[[ -n $(five) ]]; (( $(six) )); case $(seven) in $(eight)) ;; esac; "
        "for x in $(nine); do :; done; y=$(ten) cmd > $(eleven)"
    )
    found = simple_texts(source)
    for name in (
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
    ):
        assert name in found


def test_case_inside_command_substitution() -> None:
    assert "echo matched" in simple_texts("x=$(case a in a) echo matched ;; esac)")


def test_arithmetic_that_is_really_a_subshell() -> None:
    assert "echo a" in simple_texts("x=$( (echo a) )")
    assert "echo b" in simple_texts("x=$((echo b) | cat)")


# ============================================================================================
# Lists, pipelines and compound commands


def test_lists_and_pipelines() -> None:
    script = parse("a | b |& c && d || e; f & g\nh")
    first, second, third, fourth = script.items
    assert [len(p.commands) for p in first.pipelines] == [3, 1, 1]
    assert [op for op, _ in first.rest] == ["&&", "||"]
    assert second.background
    assert not third.background
    assert third.text == "g"
    assert fourth.text == "h"


def test_negation_and_time() -> None:
    pipeline = parse("! time -p grep x file").items[0].first
    assert pipeline.negated
    command = pipeline.commands[0]
    assert isinstance(command, SimpleCommand)
    assert command.words[0].literal == "grep"


def test_groups() -> None:
    script = parse("(cd /tmp && ls) > out; { echo a; echo b; } 2>&1")
    subshell = script.items[0].first.commands[0]
    braces = script.items[1].first.commands[0]
    assert isinstance(subshell, Group)
    assert subshell.subshell
    assert subshell.redirects[0].op == ">"
    assert isinstance(braces, Group)
    assert not braces.subshell
    assert [i.text for i in braces.body.items] == ["echo a", "echo b"]


def test_if_loops_and_case() -> None:
    source = (
        "if a; then b; elif c; then d; else e; fi\n"
        "while f; do g; done\n"
        "until h; do i; done\n"
        "for x in 1 2; do j; done\n"
        "for y; do k; done\n"
        "for ((n=0; n<3; n++)); do l; done\n"
        "select z in p q; do m; done\n"
        "case $v in a|b) n ;; (c) o ;& *) p ;;& esac"
    )
    commands = [item.first.commands[0] for item in parse(source).items]
    if_, while_, until_, for_in, for_args, for_arith, select, case = commands
    assert isinstance(if_, If)
    assert len(if_.clauses) == 2
    assert if_.orelse is not None
    assert isinstance(while_, Loop)
    assert not while_.until
    assert isinstance(until_, Loop)
    assert until_.until
    assert isinstance(for_in, For)
    assert [w.literal for w in for_in.items or ()] == ["1", "2"]
    assert isinstance(for_args, For)
    assert for_args.items is None
    assert isinstance(for_arith, For)
    assert for_arith.header is not None
    assert isinstance(select, For)
    assert select.var == "z"
    assert isinstance(case, Case)
    assert [[w.literal for w in arm.patterns] for arm in case.arms] == [["a", "b"], ["c"], ["*"]]
    assert simple_texts(source) == list("abcdefghijklmnop")


def test_reserved_words_only_count_in_command_position() -> None:
    assert literals("echo if then fi done") == ["echo", "if", "then", "fi", "done"]
    assert simple_texts("if echo then; then echo fi; fi") == ["echo then", "echo fi"]


def test_test_and_arithmetic_commands() -> None:
    script = parse("[[ $x =~ ^(a|b)$ && -f /etc/passwd ]] && (( y = 1 + 2 ))")
    test, arith = (p.commands[0] for p in script.items[0].pipelines)
    assert isinstance(test, shell.TestExpr)
    assert not test.arith
    assert "=~" in [w.literal for w in test.words]
    assert isinstance(arith, shell.TestExpr)
    assert arith.arith
    assert arith.words[0].raw == " y = 1 + 2 "


def test_function_definitions() -> None:
    script = parse(":(){ :|:& };: ; function f { f | f & }; g () ( echo sub )")
    bomb = script.items[0].first.commands[0]
    assert isinstance(bomb, FunctionDef)
    assert bomb.name == ":"
    assert isinstance(bomb.body, Group)
    assert bomb.body.body.items[0].background
    keyword = script.items[2].first.commands[0]
    assert isinstance(keyword, FunctionDef)
    assert keyword.name == "f"
    parens = script.items[3].first.commands[0]
    assert isinstance(parens, FunctionDef)
    assert isinstance(parens.body, Group)
    assert parens.body.subshell


def test_coproc() -> None:
    assert simple_texts("coproc worker { sleep 1; }") == ["sleep 1"]


# ============================================================================================
# Assignments and redirections


def test_assignments() -> None:
    command = only_command("A=1 B+=x C=$(id) D=(a 'b c' $(e)) cmd arg")
    names = [(a.name, a.append) for a in command.assignments]
    assert names == [("A", False), ("B", True), ("C", False), ("D", False)]
    assert command.assignments[0].value is not None
    assert command.assignments[0].value.literal == "1"
    assert [w.literal for w in command.assignments[3].items] == ["a", "b c", None]
    assert [w.literal for w in command.words] == ["cmd", "arg"]
    assert "e" in simple_texts("D=(a $(e))")


def test_assignment_needs_a_name_and_comes_first() -> None:
    assert literals("echo A=1") == ["echo", "A=1"]
    command = only_command("'A'=1")
    assert not command.assignments
    assert command.words[0].literal == "A=1"


def test_declaration_arrays() -> None:
    command = only_command("declare -a arr=(one two)")
    assert command.words[2].raw == "arr=(one two)"
    assert command.words[2].literal == "arr=(one two)"


@pytest.mark.parametrize(
    ("source", "redirect"),
    [
        ("cmd > out", ("", ">", "out")),
        ("cmd >>out", ("", ">>", "out")),
        ("cmd 2>&1", ("2", ">&", "1")),
        ("cmd &> /dev/null", ("", "&>", "/dev/null")),
        ("cmd &>> log", ("", "&>>", "log")),
        ("cmd >| file", ("", ">|", "file")),
        ("cmd 1<>/dev/sda", ("1", "<>", "/dev/sda")),
        ("cmd < in", ("", "<", "in")),
        ("cmd <&3", ("", "<&", "3")),
        ("cmd {fd}>file", ("{fd}", ">", "file")),
        ("cmd <<< 'word'", ("", "<<<", "word")),
        ("> /etc/shadow", ("", ">", "/etc/shadow")),
    ],
)
def test_redirections(source: str, redirect: tuple[str, str, str]) -> None:
    (found,) = only_command(source).redirects
    assert (found.fd, found.op, found.target.literal) == redirect


def test_digits_are_a_file_descriptor_only_when_touching_the_operator() -> None:
    command = only_command("echo 2 >x a2>y")
    assert [w.literal for w in command.words] == ["echo", "2", "a2"]
    assert [r.fd for r in command.redirects] == ["", ""]


def test_process_substitution_is_not_a_redirection() -> None:
    command = only_command("diff <(ls a) <(ls b) > out")
    assert [w.parts[0].kind for w in command.words[1:]] == ["procsub", "procsub"]
    assert command.redirects[0].target.literal == "out"


# ============================================================================================
# Here-documents


def test_heredoc_body_is_read_and_expanded() -> None:
    script = parse("cat <<EOF | grep x\nhello $(whoami)\n\\$HOME stays\nEOF\necho after")
    assert [i.text for i in script.items] == ["cat <<EOF | grep x", "echo after"]
    cat = script.items[0].first.commands[0]
    assert isinstance(cat, SimpleCommand)
    body = cat.redirects[0].heredoc
    assert body is not None
    assert [p.kind for p in body.parts] == ["lit", "cmdsub", "lit"]
    assert body.parts[2].text == "\n$HOME stays\n"
    assert "whoami" in simple_texts(script.text)


def test_quoted_heredoc_is_literal() -> None:
    command = only_command("sh <<'END'\nrm -rf $(x)\nEND")
    body = command.redirects[0].heredoc
    assert body is not None
    assert body.literal == "rm -rf $(x)\n"


def test_heredoc_strip_tabs_and_two_on_one_line() -> None:
    script = parse("cat <<-A <<B\n\tone\n\tA\ntwo\nB\necho end")
    command = script.items[0].first.commands[0]
    assert isinstance(command, SimpleCommand)
    first, second = (r.heredoc for r in command.redirects)
    assert first is not None
    assert first.literal == "one\n"
    assert second is not None
    assert second.literal == "two\n"
    assert script.items[1].text == "echo end"


def test_heredoc_inside_command_substitution() -> None:
    assert simple_texts("x=$(cat <<EOF\n$(id)\nEOF\n)") == [
        "x=$(cat <<EOF\n$(id)\nEOF\n)",
        "cat <<EOF",
        "id",
    ]


# ============================================================================================
# Refusing what we can't read


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("echo 'open", "unclosed single quote"),
        ('echo "open', "unclosed double quote"),
        ("echo $(date", "unclosed '$('"),
        ("echo `date", "unclosed backquote"),
        ("echo ${x", "unclosed '${'"),
        ("echo ${}", "bad parameter expansion"),
        ("echo $'open", "unclosed $'...' quote"),
        ("(ls", "unclosed '('"),
        ("{ ls; ", "expected '}'"),
        ("if true; then ls", "expected 'fi'"),
        ("while true; do ls", "expected 'done'"),
        ("for x in a b; ls; done", "expected 'do'"),
        ("case x in a) ls", "expected 'esac'"),
        ("cat <<EOF", "here-document without a body"),
        ("cat <<EOF\nbody", "here-document not closed by 'EOF'"),
        ("echo )", "unexpected ')'"),
        ("| grep x", "expected a command"),
        ("ls &&", "expected a command"),
        ("ls ;;", "unexpected ';;'"),
        ("fi", "unexpected 'fi'"),
        ("echo (", "unexpected '('"),
        ("ls >", "redirection '>' without a target"),
        ("a=(open", "unclosed array '('"),
        ("echo $((1 + ", "unclosed '('"),
        ("echo @(a|b", "unclosed extended glob '('"),
    ],
)
def test_unreadable_input_raises(source: str, message: str) -> None:
    with pytest.raises(ShellSyntaxError) as info:
        parse(source)
    assert info.value.message.startswith(message), info.value.message
    assert isinstance(info.value, ExecutorError)
    assert "at character" in str(info.value)


def test_error_position_points_at_the_problem() -> None:
    with pytest.raises(ShellSyntaxError) as info:
        parse("echo ok; echo )")
    assert info.value.position == len("echo ok; echo ")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("rm -rf / 'oops", ["rm -rf / 'oops"]),
        ('rm -rf / "', ['rm -rf / "']),
        ("(rm -rf /", ["rm -rf /"]),
        ("rm -rf / )", ["rm -rf /"]),
        ("echo $(rm -rf /", ["echo $(rm -rf /", "rm -rf /"]),
        ("if true; then reboot", ["true", "reboot"]),
        ("ls | ) ; reboot", ["reboot"]),
        ("cat <<EOF\nbody", ["cat <<EOF"]),
    ],
)
def test_lenient_mode_recovers_what_it_can(source: str, expected: list[str]) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(source)
    found = [c.text for c in iter_simple_commands(parse(source, lenient=True))]
    assert found == expected


def test_nesting_is_bounded() -> None:
    parse("echo " + "$(" * (MAX_NESTING - 2) + "x" + ")" * (MAX_NESTING - 2))
    with pytest.raises(ShellSyntaxError, match="nested too deeply"):
        parse("echo " + "$(" * (MAX_NESTING + 5) + "x" + ")" * (MAX_NESTING + 5))
    with pytest.raises(ShellSyntaxError, match="nested too deeply"):
        parse("( " * 200 + "x" + " )" * 200)
    assert parse("(" * 200 + "x" + ")" * 200).items  # that is one arithmetic command


def test_empty_and_comment_only_input() -> None:
    assert parse("") == Script((), "")
    assert parse("  # nothing\n\n").items == ()


# ============================================================================================
# Helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/{etc,usr}", ["/etc", "/usr"]),
        ("a{b,c{d,e}}f", ["abf", "acdf", "acef"]),
        ("x{1..3}", ["x1", "x2", "x3"]),
        ("{a..c}", ["a", "b", "c"]),
        ("{3..1}", ["3", "2", "1"]),
        ("{0..10..5}", ["0", "5", "10"]),
        ("{a}", ["{a}"]),
        ("{}", ["{}"]),
        ("no braces", ["no braces"]),
        ("{a,b", ["{a,b"]),
        ("${x}", ["${x}"]),
    ],
)
def test_brace_expand(text: str, expected: list[str]) -> None:
    assert brace_expand(text) == expected


def test_brace_expand_is_bounded() -> None:
    assert len(brace_expand("{a,b}" * 30)) == 256
    assert brace_expand("{1..100000}") == ["{1..100000}"]


@pytest.mark.parametrize(
    ("text", "mode", "expected"),
    [
        (r"\x72\x6d", "ansi", "rm"),
        (r"\162\155", "ansi", "rm"),
        (r"\0162\0155", "echo", "rm"),
        (r"\162", "printf", "r"),
        (r"a\nb\tc", "echo", "a\nb\tc"),
        (r"stop\chere", "echo", "stop"),
        (r"\u263a", "printf", "☺"),
        (r"\q", "ansi", "\\q"),
        ("plain", "echo", "plain"),
    ],
)
def test_decode_escapes(text: str, mode: str, expected: str) -> None:
    assert decode_escapes(text, mode=mode) == expected  # type: ignore[arg-type]


def test_iter_commands_visits_everything() -> None:
    script = parse("f() { a; }; if b; then c; fi; (d) | { e; }; echo $(g) <<X\n$(h)\nX\n")
    kinds = [type(c).__name__ for c in iter_commands(script)]
    assert kinds.count("SimpleCommand") == 8
    assert {"FunctionDef", "If", "Group"} <= set(kinds)


def test_nodes_are_frozen() -> None:
    command = only_command("ls")
    with pytest.raises(AttributeError):
        command.text = "rm"  # type: ignore[misc]
    word = Word((Part("lit", "x"),), "x")
    assert hash(word) == hash(Word((Part("lit", "x"),), "x"))
    assert isinstance(parse("ls").items[0].first, Pipeline)

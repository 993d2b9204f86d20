//! The rule set. Each rule reads the normalised form of one input (see `normalize.rs`: decoded,
//! lower-cased, SQL comments as spaces, blanks squeezed) and is written to need the *shape* of
//! an attack, not a keyword: `select` or `drop` in a sentence passes, `' or '1'='1` does not.
//! All rules are compiled into one `regex::bytes::RegexSet` at start-up; the regex crate runs
//! in time linear in the input, whatever the input.
//!
//! Changing a rule: add attack payloads and benign sentences to `corpus/` first, then run
//! `cargo test -p secure-api threat` and keep both rates at their targets.

/// Where an input came from; a rule applies to the locations in its mask.
pub(crate) const PATH: u8 = 1;
pub(crate) const QUERY: u8 = 2;
pub(crate) const HEADER: u8 = 4;
pub(crate) const BODY: u8 = 8;
const ANYWHERE: u8 = PATH | QUERY | HEADER | BODY;
/// Line breaks are legitimate in body text; they are an attack where they end up in headers.
const URL_AND_HEADERS: u8 = PATH | QUERY | HEADER;

/// The attack class a rule belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThreatFamily {
    /// SQL injection.
    SqlInjection,
    /// Cross-site scripting.
    Xss,
    /// Path traversal and local file inclusion.
    PathTraversal,
    /// OS command injection (including JNDI lookups and Shellshock).
    CommandInjection,
    /// CRLF / HTTP header injection.
    HeaderInjection,
    /// An input longer than the detector reads (fail closed).
    Oversized,
}

impl ThreatFamily {
    /// A short stable name for logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SqlInjection => "sql_injection",
            Self::Xss => "xss",
            Self::PathTraversal => "path_traversal",
            Self::CommandInjection => "command_injection",
            Self::HeaderInjection => "header_injection",
            Self::Oversized => "oversized",
        }
    }
}

pub(crate) struct Rule {
    pub(crate) id: &'static str,
    /// `denied:threat:<id>`, spelled out at compile time because outcomes are `&'static str`.
    pub(crate) outcome: &'static str,
    pub(crate) family: ThreatFamily,
    pub(crate) locations: u8,
    pub(crate) pattern: &'static str,
}

/// What a shell runs, written with the arguments that make it a command rather than a word:
/// `cat /etc/passwd`, `nc 10.0.0.1 4444`, `whoami`; "salt & pepper", "Java | Python" and
/// "rock; paper" do not match after a separator.
macro_rules! command_words {
    () => {
        r"(?:(?:whoami|ifconfig|ipconfig|systeminfo|tasklist|printenv|hostname)\b|uname\b(?:\s+-\w+)?|netstat\s+-\w|(?:ba|z|k|c|da)?sh(?:\s+-\w+|\s*$|\s*[;&|<>`)])|(?:python[23]?|perl|ruby|php|node|lua)\s+-\w|(?:curl|wget)\s+(?:-\S+\s+)*(?:https?://|ftp://|\d{1,3}\.\d|[\w-]+\.[a-z]{2,}/|\$)|nc(?:at)?\s+(?:-\w+\s+)*[\w.-]+\s+\d+|nc(?:at)?\s+-[elvnpcz]|cmd(?:\.exe)?\s*/[ck]\b|powershell(?:\.exe)?\s+-|pwsh\s+-|(?:cat|head|tail|more|less|type|nl|tac|od|xxd|strings)\s+(?:-\w+\s+)*(?:/|~|\.{1,2}/|\$|[a-z]:\\)|ls(?:\s+-\w+|\s+(?:/|~|\.{1,2}/?)|\s*$|\s*[;&|`)])|dir(?:\s+[a-z]:|\s*$)|id(?:\s*$|\s*[;&|`#)])|rm\s+-\w+|chmod\s+[+\d]|chown\s+\w+:|ping\s+-[nc]\s*\d|sleep\s+\d+\s*(?:$|[;&|`#)])|echo\s+\S|net\s+(?:user|localgroup|view)\b|(?:sudo|nohup|exec|eval)\s+\S|certutil\b|bitsadmin\b|mkfifo\b|socat\b|busybox\b|telnet\s+\S|tftp\s|/(?:usr/)?s?bin/\w+|export\s+\w+=|find\s+/|kill\s+-\d|(?:nslookup|dig)\s+[\w-]+\.[\w.-]+)"
    };
}

macro_rules! rule {
    ($id:literal, $family:ident, $locations:expr, $pattern:expr) => {
        Rule {
            id: $id,
            outcome: concat!("denied:threat:", $id),
            family: ThreatFamily::$family,
            locations: $locations,
            pattern: $pattern,
        }
    };
}

/// The id and outcome of the finding for an input longer than the detector reads.
pub(crate) const OVERSIZED: Rule = rule!("input-too-long", Oversized, ANYWHERE, "");

/// Every rule, in reporting order: when several match, the first is reported.
pub(crate) const RULES: &[Rule] = &[
    // ---- SQL injection ----------------------------------------------------------------------
    rule!("sqli-union-select", SqlInjection, ANYWHERE, r"\bunion\b(?:\s+(?:all|distinct))?[\s(]*select\b"),
    // A quote closing a string, a boolean operator, and a comparison: `' or '1'='1`,
    // `") or ("a"="a`, `' || 1=1`, `' and x is null`.
    rule!(
        "sqli-tautology",
        SqlInjection,
        ANYWHERE,
        r#"['"`]\s*\)*\s*(?:(?:or|and|xor)\b|\|\||&&)\s*\(*\s*['"`]?[\w.@-]*['"`]?\s*\)*\s*(?:=|<>|!=|<=|>=|<|>|\blike\b|\bregexp\b|\brlike\b|\bbetween\b|\bis\s+(?:not\s+)?null\b|\bin\s*\()"#
    ),
    // Without quotes: `or 1=1`, `and 1=2 --`, `or true=true)`: an equality of constants that
    // ends the input or is followed by what ends an SQL condition ("2 or 3 = 5 packs" passes,
    // and so does "5 < 10 and 10 > 5", which is arithmetic, not a condition).
    rule!(
        "sqli-numeric-tautology",
        SqlInjection,
        ANYWHERE,
        r#"\b(?:or|and|xor|having)\s+\(*\s*(?:\d+|true|false|null)\s*(?:=|<>|!=)\s*\(*\s*(?:\d+|true|false|null)\s*(?:$|--|#|/\*|;|\)|['"`]|\b(?:limit|order|group|union|and|or)\b)"#
    ),
    // A quote, then a boolean operator and a sub-query or a function call:
    // `' and (select ...`, `' or sleep(5)`, `' and extractvalue(1, ...)`.
    rule!(
        "sqli-boolean-subquery",
        SqlInjection,
        ANYWHERE,
        r#"['"`\d]\s*\)*\s*(?:(?:or|and|xor)\s+|(?:\|\||&&)\s*)(?:not\s+)?(?:\(+\s*select\b|[a-z_]+\()"#
    ),
    // A quote (or parenthesis) followed directly by a comment that cuts the rest of the query:
    // `admin'--`, `admin'#`, `')/*`, or ` -- ` at the very end.
    rule!("sqli-comment", SqlInjection, ANYWHERE, r#"['"`]\)*(?:--|/\*|;\s*(?:--|#))|['"`]\s*\)*\s*(?:--\s*-?|#)\s*$"#),
    // Stacked queries and DDL/DML after a statement break.
    rule!(
        "sqli-stacked-query",
        SqlInjection,
        ANYWHERE,
        r#"[;'"`)]\s*(?:insert\s+into\b|update\s+[\w.\[\]"`]+\s+set\b|delete\s+from\b|(?:drop|alter|create|truncate|rename)\s+(?:table|database|schema|view|index|user|procedure|function|trigger)\b|exec(?:ute)?\s*(?:\(|master\.|xp_|sp_)|declare\s+@|shutdown\s*(?:--|#|;|$))|[;'"`]\s*select\b(?:[^;]{0,200}?\bfrom\b|\s+(?:\*|@@|\d|null\b|[a-z_]+\())"#
    ),
    // Probing the column count after a quote: `' order by 3--`.
    rule!("sqli-order-probe", SqlInjection, ANYWHERE, r#"['"`)]\s*(?:order|group)\s+by\s+\d+\b"#),
    // Functions and catalogue names that only an injected query uses.
    rule!(
        "sqli-function",
        SqlInjection,
        ANYWHERE,
        r#"\b(?:sleep|pg_sleep|benchmark)\s*\(\s*[\d(]|\bwaitfor\s+(?:delay|time)\s+['"]|\b(?:load_file|extractvalue|updatexml|name_const|dbms_pipe\.receive_message|utl_inaddr\.get_host_\w+|utl_http\.request|dbms_lock\.sleep|gtid_subset|json_keys)\s*\(|\binto\s+(?:out|dump)file\b|@@(?:version|datadir|hostname|basedir|servername|tmpdir)\b|\binformation_schema\b|\b(?:sysobjects|syscolumns|sys\.tables|mysql\.user|pg_catalog|pg_shadow|sqlite_master|all_tables|user_tables)\b|\bxp_cmdshell\b|\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\b(?:group_)?concat(?:_ws)?\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|@@|\(\s*select)|\b(?:ascii|ord|substr(?:ing)?|mid|length|hex|unhex)\s*\(\s*\(*\s*select\b|\bcase\s+when\s+\(?\s*\d+\s*=\s*\d+"#
    ),
    // ---- Cross-site scripting -----------------------------------------------------------------
    rule!("xss-script-tag", Xss, ANYWHERE, r"<\s*/?\s*script\b"),
    // An event handler inside a tag (`<img src=x onerror=...>`), or breaking out of an
    // attribute into one (`" onmouseover="...`).
    rule!(
        "xss-event-handler",
        Xss,
        ANYWHERE,
        r#"<[a-z!/?][^>]*?[\s/"'`]on[a-z]{3,}\s*=|['"`]\s*/?\s*on[a-z]{3,}\s*=|\bon(?:error|load|mouseover|mouseenter|focus|click|toggle|begin|animationstart|pointerover|pageshow|start|finish)\s*=\s*['"`]?\s*[\w$.]+\s*[(`=]"#
    ),
    // Script URLs: `javascript:alert(1)`, `java	script:`, `data:text/html,...`. The title
    // "JavaScript: The Good Parts" passes: code must follow the colon.
    rule!(
        "xss-script-url",
        Xss,
        ANYWHERE,
        r#"(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|livescript)\s*:\s*(?:[\w$.\[\]'"]*\s*[(`=\[]|/[/*]|%|void\b|alert|eval|prompt|confirm|location|document|window|this\b|top\b|self\b|fetch|import|throw)|\bdata\s*:\s*(?:text/html|text/javascript|application/(?:x-)?javascript|image/svg\+xml|text/xml)"#
    ),
    // Tags that load or run content by themselves.
    rule!(
        "xss-dangerous-tag",
        Xss,
        ANYWHERE,
        r"<\s*/?\s*(?:iframe|frame|frameset|object|embed|applet|meta|base|link|style|svg|math|xml|xss|template|portal|isindex|marquee|bgsound|layer|ilayer)\b"
    ),
    // Script sinks: `alert(1)`, `eval(`, `document.cookie`, `String.fromCharCode(`.
    rule!(
        "xss-script-sink",
        Xss,
        ANYWHERE,
        r#"\b(?:alert|prompt|confirm)\s*(?:\(|`)\s*(?:[\d'"`/)]|document|window|self|top|this|string\.fromcharcode)|\beval\s*\(|\bdocument\s*\.\s*(?:cookie|domain|write(?:ln)?|location)\b|\bwindow\s*\.\s*(?:location|name|open)\b|\bstring\s*\.\s*fromcharcode\s*\(|\b(?:settimeout|setinterval)\s*\(\s*['"`]|\bnew\s+function\s*\(|\bconstructor\s*\.\s*constructor\b|\.\s*innerhtml\s*=|\bsrcdoc\s*="#
    ),
    // ---- Path traversal / file inclusion --------------------------------------------------------
    rule!("traversal-dot-dot", PathTraversal, ANYWHERE, r"\.\.+[/\\]|[/\\]\.\.+(?:[/\\;?#]|$)|^\.\.$|\.\.;[/\\]"),
    rule!(
        "traversal-sensitive-file",
        PathTraversal,
        ANYWHERE,
        r"(?:^|[/\\=:])(?:etc[/\\]+(?:passwd|shadow|group|hosts|issue|sudoers|crontab|hostname)|proc[/\\]+(?:self|version|\d+)[/\\]?|windows[/\\]+(?:win\.ini|system32|system\.ini)|winnt[/\\]|boot\.ini\b|\.ssh[/\\]|\.aws[/\\]+credentials|\.git[/\\]|\.env\b|\.htaccess|\.htpasswd|web-inf[/\\])|\b[a-z]:[/\\]+(?:windows|winnt|boot\.ini|inetpub)\b"
    ),
    rule!(
        "traversal-scheme",
        PathTraversal,
        ANYWHERE,
        r"\b(?:file|php|phar|expect|jar|netdoc|gopher|dict|zip|glob)://"
    ),
    rule!("traversal-null-byte", PathTraversal, ANYWHERE, r"\x00"),
    // ---- Command injection ----------------------------------------------------------------------
    // A shell separator (`;`, `|`, `&`, backtick, `$(`, a line break) followed by something a
    // shell runs, written with the arguments that make it a command rather than a word:
    // `; cat /etc/passwd`, `| nc 10.0.0.1 4444`, `$(whoami)`; "salt & pepper", "Java | Python"
    // and "rock; paper" pass.
    rule!("cmd-chained-command", CommandInjection, ANYWHERE, concat!(r"(?:[;&|`]|\$\()\s*", command_words!())),
    // The same after a decoded line break, in the URL and headers only: a line break in body
    // text is ordinary.
    rule!("cmd-newline-command", CommandInjection, URL_AND_HEADERS, concat!(r"[\r\n]\s*", command_words!())),
    // `${IFS}` space substitution and `$(...)` / backticks wrapping a command word.
    rule!(
        "cmd-substitution",
        CommandInjection,
        ANYWHERE,
        r"\$\{?ifs\}?|\$\(\s*(?:[a-z]+\s*[;|)]|/)|`\s*(?:whoami|id|uname|ls|cat|curl|wget|nc|sleep|ping|echo|sh|bash)\b[^`]*`|\{\s*(?:cat|ls|id|whoami|wget|curl|nc|sh|bash|echo|uname|ping),"
    ),
    // JNDI / Log4Shell lookups: `${jndi:ldap://...}`, `${${lower:j}ndi:...}`.
    rule!(
        "cmd-jndi-lookup",
        CommandInjection,
        ANYWHERE,
        r"\$\{\s*(?:jndi|env|sys|java|lower|upper|date|ctx|main|bundle|k8s|docker|spring|log4j|base64|\$\{|::-)"
    ),
    // Shellshock: `() { :; };`.
    rule!("cmd-shellshock", CommandInjection, ANYWHERE, r"\(\s*\)\s*\{[^}]{0,100};\s*\}\s*;"),
    // Shells and interpreters named by path, reverse-shell devices.
    rule!(
        "cmd-shell-path",
        CommandInjection,
        ANYWHERE,
        r"(?:^|[\s;&|`(='\x22])/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|da)?sh\b|/bin/(?:cat|ls|id|nc|netcat|busybox|python\d?|perl|echo|uname|whoami)\b|/dev/(?:tcp|udp)/|\bcmd\.exe\b|\bpowershell(?:\.exe)?\s+-(?:e|enc|encodedcommand|nop|noprofile|w|windowstyle|c|command|exec|executionpolicy)\b"
    ),
    // ---- CRLF / header injection ----------------------------------------------------------------
    // A decoded line break followed by a header line, a status line or markup: response
    // splitting (`%0d%0aSet-Cookie: ...`).
    rule!("crlf-header-injection", HeaderInjection, URL_AND_HEADERS, r"[\r\n]\s*(?:[a-z0-9_-]{2,40}\s*:|http/\d|<)"),
];

//! OS command injection, read in context: a lone `&`, `|` or `;` between words is text ("Photo
//! & ID", "Amazon Fire TV | Echo Show 8"); a shell metacharacter followed by a command-like
//! token is not. A command word that is also an English word (`id`, `echo`, `cat`, `sleep`)
//! counts only where no text would put it: at the very start of the input after a separator
//! (`| pwd`, `;id;`), glued between a separator and another separator or an option (`|ls -la`,
//! `|id|`), or after a closing quote (`';id`). A command written with the arguments that make it
//! one (`cat /etc/passwd`, `nc 10.0.0.1 4444`, `uname -a`) counts after any separator.
//! The detector also runs these rules on the input's *shell view* (`normalize::shell_view`),
//! where quotes and backslashes inside words are gone, as the shell removes them:
//! `;w'h'o'a'm'i` and `;c\at /e\tc/pa\sswd` read `;whoami` and `;cat /etc/passwd`.

use super::{ANYWHERE, Rule, URL_AND_HEADERS, rule};

/// Commands a shell runs that are recognisable by their arguments or their name alone.
macro_rules! command_with_arguments {
    () => {
        r"(?:(?:whoami|ifconfig|ipconfig|systeminfo|tasklist|printenv)\b|uname\s+-\w+|netstat\s+-\w|(?:ba|z|k|c|da)?sh\s+-\w+|(?:python[23]?|perl|ruby|php|node|lua)\s+-\w|(?:curl|wget)\s+(?:-\S+\s+)*(?:https?://|ftp://|\d{1,3}\.\d|[\w-]+\.[a-z]{2,}/|\$)|nc(?:at)?\s+(?:-\w+\s+)*[\w.-]+\s+\d+|nc(?:at)?\s+-[elvnpcz]|cmd(?:\.exe)?\s*/[ck]\b|powershell(?:\.exe)?\s+-|pwsh\s+-|(?:cat|head|tail|more|less|type|nl|tac|od|xxd|strings)\s+(?:-\w+\s+)*(?:/|~/|\.{1,2}/|\$|[a-z]:\\)|ls\s+-\w+|ls\s+(?:/|~/|\.{1,2}/)|dir\s+[a-z]:|rm\s+-\w+|chmod\s+[+\d]|chown\s+\w+:|ping\s+-[nc]\s*\d|net\s+(?:user|localgroup|view)\b|(?:sudo|nohup)\s+\S|certutil\b|bitsadmin\b|mkfifo\b|socat\b|busybox\b|telnet\s+[\w.-]+\s+\d|tftp\s|/(?:usr/)?s?bin/\w+|export\s+\w+=|find\s+/|kill\s+-\d|(?:nslookup|dig)\s+[\w-]+\.[\w.-]+)"
    };
}

/// Command names, bare: decisive only where text does not put a word (see the module docs).
macro_rules! command_name {
    () => {
        r"(?:id|ls|dir|pwd|whoami|ifconfig|ipconfig|hostname|uname|netstat|printenv|env|ps|systeminfo|tasklist|ver|sh|bash|zsh|ksh|dash|cmd|powershell|pwsh|reboot|halt|read|cat|echo|ping|sleep|curl|wget|nc|ncat|telnet|nslookup|python[23]?|perl|ruby|php|node|set)"
    };
}

pub(super) const RULES: &[Rule] = &[
    // A shell separator (`;`, `|`, `&`, backtick, `$(`) followed by a command with its
    // arguments: `; cat /etc/passwd`, `| nc 10.0.0.1 4444`, `&& uname -a`.
    rule!(
        "cmd-chained-command",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        concat!(r"(?:[;&|`]|\$\()\s*", command_with_arguments!())
    ),
    // A bare command name where only a shell puts one: first thing after a leading separator
    // (`| pwd`, `;id;`, `` `id` ``), glued between separators (`|id|`, `;ls -la`, `x;sleep 5;`),
    // or right after a closing quote (`';id`, `";id"`).
    rule!(
        "cmd-bare-command",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        concat!(
            r#"^[\s'"`]*(?:[;|&`]+|\$\()\s*"#,
            command_name!(),
            r##"(?:$|[\s;|&`'"#)\x00])|[;|&`]"##,
            command_name!(),
            r##"(?:[;|&`'"#\x00]|\s+-\w|\s+\d+\s*(?:$|[;|&`]))|['"`][;|&]+\s*"##,
            command_name!(),
            r"\b"
        )
    ),
    // A command after a decoded line break, which ends a shell command like `;`: a command with
    // its arguments anywhere; a bare command name in the URL and headers only (a line of body
    // text may well start with "Echo" or "Read").
    rule!(
        "cmd-newline-command",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        concat!(r"[\r\n]\s*", command_with_arguments!())
    ),
    rule!(
        "cmd-newline-bare-command",
        CommandInjection,
        URL_AND_HEADERS,
        Critical,
        1,
        concat!(r"[\r\n]\s*", command_name!(), r"(?:$|[\s;|&`])")
    ),
    // `${IFS}` space substitution, `$(...)` / backticks wrapping a command name, and brace
    // expansion (`{cat,/etc/passwd}`). "Price in $(USD)" passes: `usd` is not a command.
    rule!(
        "cmd-substitution",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        concat!(
            r"\$\{?ifs\}?|\$\(\s*(?:/|",
            command_name!(),
            r"\b)|`\s*",
            command_name!(),
            r"\b[^`]*`|\{\s*(?:cat|ls|id|whoami|wget|curl|nc|sh|bash|echo|uname|ping),"
        )
    ),
    // JNDI / Log4Shell lookups: `${jndi:ldap://...}`, `${${lower:j}ndi:...}`.
    rule!(
        "cmd-jndi-lookup",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        r"\$\{\s*(?:jndi|env|sys|java|lower|upper|date|ctx|main|bundle|k8s|docker|spring|log4j|base64|\$\{|::-)"
    ),
    // Code injected into a server-side interpreter: `phpinfo()`, `shell_exec(`, `<?php`.
    rule!(
        "cmd-code-injection",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        r"\bphpinfo\s*\(\s*\)|\b(?:shell_exec|passthru|proc_open|popen|pcntl_exec)\s*\(|<\?php\b|\bruntime\.getruntime\(\)\.exec\b"
    ),
    // Shellshock: `() { :; };`.
    rule!("cmd-shellshock", CommandInjection, ANYWHERE, Critical, 1, r"\(\s*\)\s*\{[^}]{0,100};\s*\}\s*;"),
    // Shells and interpreters named by path, reverse-shell devices, server-side includes.
    rule!(
        "cmd-shell-path",
        CommandInjection,
        ANYWHERE,
        Critical,
        1,
        r"(?:^|[\s;&|`(='\x22])/(?:usr/)?(?:local/)?s?bin/(?:ba|z|k|c|da)?sh\b|/bin/(?:cat|ls|id|nc|netcat|busybox|python\d?|perl|echo|uname|whoami)\b|/dev/(?:tcp|udp)/|\bcmd\.exe\b|\bpowershell(?:\.exe)?\s+-(?:e|enc|encodedcommand|nop|noprofile|w|windowstyle|c|command|exec|executionpolicy)\b|<!--\s*#\s*exec\b"
    ),
];

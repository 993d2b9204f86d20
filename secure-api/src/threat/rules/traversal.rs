//! Path traversal and file inclusion: `../` sequences (after every decoding), the files an
//! attacker reads, and URL schemes that open local files.

use super::{ANYWHERE, Rule, rule};

pub(super) const RULES: &[Rule] = &[
    rule!(
        "traversal-dot-dot",
        PathTraversal,
        ANYWHERE,
        Critical,
        1,
        r"\.\.+[/\\]|[/\\]\.\.+(?:[/\\;?#\x00]|$)|^\.\.$|\.\.;[/\\]|(?:^|[/\\])\.{3,}[/\\]"
    ),
    rule!(
        "traversal-sensitive-file",
        PathTraversal,
        ANYWHERE,
        Critical,
        1,
        r"(?:^|[/\\=:\x00]|\.\.)(?:etc[/\\]+(?:passwd|shadow|group|hosts|issue|sudoers|crontab|hostname)|proc[/\\]+(?:self|version|\d+)[/\\]?|windows[/\\]+(?:win\.ini|system32|system\.ini)|winnt[/\\]|boot\.ini\b|\.ssh[/\\]|\.aws[/\\]+credentials|\.git[/\\]|\.env\b|\.htaccess|\.htpasswd|web-inf[/\\]|inetpub[/\\]+wwwroot\b)|\b[a-z]:[/\\]+(?:windows|winnt|boot\.ini|inetpub)\b"
    ),
    rule!(
        "traversal-scheme",
        PathTraversal,
        ANYWHERE,
        Critical,
        1,
        r"\b(?:file|php|phar|expect|jar|netdoc|gopher|dict|zip|glob)://"
    ),
    rule!("traversal-null-byte", PathTraversal, ANYWHERE, Critical, 1, r"\x00"),
];

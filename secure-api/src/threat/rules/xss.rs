//! Cross-site scripting shapes that complement libinjection's HTML5 tokenizer (`tokenize.rs`):
//! script sinks written as JavaScript rather than markup (`";alert(1)//`), script URLs split by
//! blanks, and markup libinjection reads as text.

use super::{ANYWHERE, Rule, rule};

pub(super) const RULES: &[Rule] = &[
    rule!("xss-script-tag", Xss, ANYWHERE, Critical, 1, r"<\s*/?\s*script\b"),
    // An event handler inside a tag (`<img src=x onerror=...>`), or breaking out of an
    // attribute into one (`" onmouseover="...`).
    rule!(
        "xss-event-handler",
        Xss,
        ANYWHERE,
        Critical,
        1,
        r#"<[a-z!/?][^>]*?[\s/"'`]on[a-z]{3,}\s*=|['"`]\s*/?\s*on[a-z]{3,}\s*=|\bon(?:error|load|mouseover|mouseenter|focus|click|toggle|begin|animationstart|pointerover|pageshow|start|finish)\s*=\s*['"`]?\s*[\w$.]+\s*[(`=]"#
    ),
    // Script URLs: `javascript:alert(1)`, `java	script:`, `data:text/html,...`. The title
    // "JavaScript: The Good Parts" passes: code must follow the colon.
    rule!(
        "xss-script-url",
        Xss,
        ANYWHERE,
        Critical,
        1,
        r#"(?:j\s*a\s*v\s*a\s*s\s*c\s*r\s*i\s*p\s*t|v\s*b\s*s\s*c\s*r\s*i\s*p\s*t|livescript)\s*:\s*(?:[\w$.\[\]'"]*\s*[(`=\[]|/[/*]|%|void\b|alert|eval|prompt|confirm|location|document|window|this\b|top\b|self\b|fetch|import|throw)|\bdata\s*:\s*(?:text/html|text/javascript|application/(?:x-)?javascript|image/svg\+xml|text/xml)"#
    ),
    // Closing an attribute value and the tag, then opening markup: `"><p>`, `'>x<b`.
    rule!("xss-attribute-breakout", Xss, ANYWHERE, Critical, 1, r#"['"`]\s*/?>[^<>'"]{0,64}<\s*/?\s*[a-z!]"#),
    // Tags that load or run content by themselves.
    rule!(
        "xss-dangerous-tag",
        Xss,
        ANYWHERE,
        Critical,
        1,
        r"<\s*/?\s*(?:iframe|frame|frameset|object|embed|applet|meta|base|link|style|svg|math|xml|xss|template|portal|isindex|marquee|bgsound|layer|ilayer)\b|<!\[cdata\[|<\?import\b"
    ),
    // Script sinks with a literal argument: `alert(1)`, `prompt('x')`, `confirm(document.domain)`,
    // and the DOM's dangerous properties. "Confirm (2 items)" passes: the argument must be one
    // literal and the parenthesis must close.
    rule!(
        "xss-script-sink",
        Xss,
        ANYWHERE,
        Critical,
        1,
        r#"\b(?:alert|prompt|confirm)(?:\(\s*(?:-?\d+|'[^']*'|"[^"]*"|`[^`]*`|/[^/]*/|(?:document|window|self|top|this)\b[\w.\[\]'"]*|string\.fromcharcode\s*\([\d,\s]*\))\s*\)|`[^`]*`)|\beval\(|\bdocument\s*\.\s*(?:cookie|domain|write(?:ln)?|location)\b|\bwindow\s*\.\s*(?:location|name|open)\b|\bstring\s*\.\s*fromcharcode\s*\(|\b(?:settimeout|setinterval)\s*\(\s*['"`]|\bnew\s+function\s*\(|\bconstructor\s*\.\s*constructor\b|\.\s*innerhtml\s*=|\bsrcdoc\s*="#
    ),
    // The same call with a blank before the parenthesis (`alert (1)`) also parses, but so does
    // the label "Confirm (2)", and `eval (` follows the word in "Eval (Evaluation) Form": evidence only.
    rule!(
        "xss-spaced-sink",
        Xss,
        ANYWHERE,
        Warning,
        1,
        r#"\b(?:alert|prompt|confirm)\s+\(\s*(?:-?\d+|'[^']*'|"[^"]*")\s*\)|\beval\s+\(\s*['"`]"#
    ),
];

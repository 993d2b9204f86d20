//! SQL injection shapes that complement libinjection's tokenizer (`tokenize.rs`): payloads
//! meant to be appended to a number (`1 or 2>1`, `1 order by 5`), catalogue and function names
//! only injected queries use, and statements stacked after a `;`.

use super::{ANYWHERE, Rule, rule};

pub(super) const RULES: &[Rule] = &[
    rule!("sqli-union-select", SqlInjection, ANYWHERE, Critical, 1, r"\bunion\b(?:\s+(?:all|distinct))?[\s(]*select\b"),
    // A quote closing a string, a boolean operator, and a comparison: `' or '1'='1`,
    // `") or ("a"="a`, `' || 1=1`, `' and x is null`, `' or user like '%`.
    rule!(
        "sqli-tautology",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"['"`]\s*\)*\s*(?:(?:or|and|xor)\b|\|\||&&)\s*\(*\s*['"`]?[\w.@-]*['"`]?\s*\)*\s*(?:=|<>|!=|<=|>=|<|>|\blike\b|\bregexp\b|\brlike\b|\bbetween\b|\bis\s+(?:not\s+)?null\b|\bin\s*\()"#
    ),
    // Without quotes: `or 1=1`, `or 2>1`, `and 1=2 --`, `or true=true)`: a comparison of
    // constants that ends the input or is followed by what ends an SQL condition ("2 or 3 = 5
    // packs" passes). After `and`, only equalities: "5 < 10 and 10 > 5" is arithmetic.
    rule!(
        "sqli-numeric-tautology",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"\b(?:(?:or|xor|having)\s+\(*\s*(?:\d+|true|false|null)\s*(?:=|<>|!=|<=|>=|<|>)|and\s+\(*\s*(?:\d+|true|false|null)\s*(?:=|<>|!=))\s*\(*\s*(?:\d+|true|false|null)\s*(?:$|--|#|/\*|;|\)|['"`]|\b(?:limit|order|group|union|and|or)\b)"#
    ),
    // A quote, then a boolean operator and a sub-query, `exists` or a function call:
    // `' and (select ...`, `' or sleep(5)`, `' or (exists)`, `'or select *`.
    rule!(
        "sqli-boolean-subquery",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"['"`\d]\s*\)*\s*(?:(?:or|and|xor)\s+|(?:\|\||&&)\s*)(?:not\s+)?(?:\(+\s*(?:select|exists)\b|[a-z_]+\()|['"`]\s*(?:or|and|\|\|)\s*select\s|['"`]\s*\(+\s*select\b"#
    ),
    // A quote (or parenthesis) followed directly by a comment that cuts the rest of the query:
    // `admin'--`, `admin'#`, `')/*`, or ` -- ` at the very end.
    rule!(
        "sqli-comment",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"['"`]\)*(?:--|/\*|;\s*(?:--|#))|['"`]\s*\)*\s*(?:--\s*-?|#)\s*$"#
    ),
    // Stacked queries: DDL/DML after a `;` (a `)` is not a statement break: "Step 1) Create
    // user account" passes), and procedure calls after a quote.
    rule!(
        "sqli-stacked-query",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#";\s*(?:insert\s+into\b|update\s+[\w.\[\]"`]+\s+set\b|delete\s+from\b|(?:drop|alter|create|truncate|rename)\s+(?:table|database|schema|view|index|user|procedure|function|trigger)\b|exec(?:ute)?\s*(?:\(|master\.|xp_|sp_)|declare\s+@|shutdown\s*(?:--|#|;|$)|select\b(?:[^;]{0,200}?\bfrom\b|\s+(?:\*|@@|\d|null\b|[a-z_]+\()))|['"`]\s*;?\s*exec(?:ute)?\s+(?:master\.|xp_|sp_)"#
    ),
    // Probing the column count: `' order by 3--`, or `1 order by 5` appended to a number.
    rule!(
        "sqli-order-probe",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"(?:['"`)]|^\s*-?\d+)\s*(?:order|group)\s+by\s+\d+\b"#
    ),
    // Functions, procedures and catalogue names that only an injected query uses. `sleep(5)`
    // needs a bare number and a closing parenthesis: "Baby Sleep (0-6 months)" passes.
    rule!(
        "sqli-function",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r#"\b(?:sleep|pg_sleep|benchmark)\s*\(\s*\d+\s*[,)]|\bwaitfor\s+(?:delay|time)\s+['"]|\b(?:load_file|extractvalue|updatexml|name_const|dbms_pipe\.receive_message|utl_inaddr\.get_host_\w+|dbms_lock\.sleep|gtid_subset|json_keys)\s*\(|\butl_http\.request\b|\binto\s+(?:out|dump)file\b|@@(?:version|datadir|hostname|basedir|servername|tmpdir)\b|\binformation_schema\b|\b(?:sysobjects|syscolumns|sys\.tables|mysql\.user|pg_catalog|pg_shadow|sqlite_master|all_tables|user_tables)\b|\bxp_(?:cmdshell|regread|regwrite|dirtree|fileexist|servicecontrol)\b|\bsp_(?:password|oacreate|executesql|makewebtask)\b|\bchar\s*\(\s*\d+\s*(?:,\s*\d+\s*)+\)|\b(?:group_)?concat(?:_ws)?\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|@@|\(\s*select)|\b(?:ascii|ord|substr(?:ing)?|mid|length|hex|unhex)\s*\(\s*\(*\s*select\b|\bcase\s+when\s+\(?\s*\d+\s*=\s*\d+"#
    ),
    // A quote and a boolean operator that end the input: the start of a condition an attacker
    // completes elsewhere (`&apos; OR`). Rare in text, but not proof alone.
    rule!("sqli-dangling-operator", SqlInjection, ANYWHERE, Warning, 1, r#"['"`]\s*(?:or|and|\|\||&&)\s*$"#),
    // ---- XPath injection (in XML payload lists) ------------------------------------------------
    // Axis steps and node tests only XPath has: `count(/child::node())`.
    rule!(
        "xpath-axis",
        SqlInjection,
        ANYWHERE,
        Critical,
        1,
        r"(?:child|parent|descendant|ancestor|following|preceding|self|attribute|namespace)(?:-or-self|-sibling)?::\s*(?:node|text|\*|[a-z_])|\b(?:count|name|string-length)\s*\(\s*/"
    ),
    // ---- LDAP filter injection (in SQL payload lists) ----------------------------------------
    // `*(|(mail=*))`, `)(uid=*))(|(uid=*`: a filter operator opening a sub-filter.
    rule!(
        "ldap-filter-injection",
        LdapInjection,
        ANYWHERE,
        Critical,
        1,
        r"\(\s*[|&!]\s*\(\s*[\w.-]+\s*[~<>]?=|\)\s*\(\s*[\w.-]+\s*=\s*\*"
    ),
];

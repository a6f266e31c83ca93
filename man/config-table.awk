# Turns the Markdown table printed by `tokencollector --config-help --markdown`
# into the roff of tokencollector.ini(5)'s key list: one .SS per section, one
# .TP per key (its type and default, then its meaning), so the man page is
# generated from the config map and cannot drift from the parser. A header or
# a row of another shape fails the build rather than shifting columns.
BEGIN { FS = "|" }

function trim(s) {
    gsub(/^[ \t]+|[ \t]+$/, "", s)
    return s
}

function die(msg) {
    print "config-table.awk: line " NR ": " msg > "/dev/stderr"
    failed = 1
    exit 1
}

# Markdown cell text as roff text: backslashes escaped, `code` in bold (with
# - as a minus), nothing a roff line could take for a request.
function roff(s,    parts, n, i, out) {
    gsub(/\\/, "\\e", s)
    n = split(s, parts, "`")
    if (n % 2 == 0)
        die("unmatched ` in: " s)
    out = ""
    for (i = 1; i <= n; i++) {
        if (i % 2 == 0) {
            gsub(/-/, "\\-", parts[i])
            out = out "\\fB" parts[i] "\\fR"
        } else
            out = out parts[i]
    }
    return out
}

NR == 1 {
    if ($0 != "| section | key | type | default | meaning |")
        die("unexpected header: " $0)
    next
}
NR == 2 { next }
NF != 7 { die("expected 5 cells, got " (NF - 2) ": " $0) }
{
    section = trim($2); key = trim($3); type = trim($4); def = trim($5); meaning = trim($6)
    if (section != "") {
        gsub(/`/, "", section)
        print ".SS \"" section "\""
    }
    gsub(/`/, "", key)
    if (key !~ /^[a-z0-9_]+$/)
        die("unexpected key: " key)
    print ".TP"
    print ".B " key
    if (def == "required")
        print "\\&" roff(type) "; required."
    else if (def == "none")
        print "\\&" roff(type) "; no default."
    else
        print "\\&" roff(type) "; default " roff(def) "."
    if (meaning != "") {
        print ".br"
        print "\\&" roff(meaning)
    }
    rows++
}
END {
    if (!failed && rows == 0) {
        print "config-table.awk: no keys in the table" > "/dev/stderr"
        exit 1
    }
}

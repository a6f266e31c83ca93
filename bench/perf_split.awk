# Splits a `perf script` dump (recorded with --call-graph dwarf) of one
# tokencollector run into where the CPU went. Each sample is charged to the
# innermost frame that belongs to a known stage, walking from the leaf to the
# root; a sample under none of them is "other". Prints "stage samples share".
#   perf script -i perf.data | awk -f bench/perf_split.awk
function stage(sym) {
    if (sym ~ /^merge_token$|^decide_status$/) return "merge"
    if (sym ~ /_parse_response$|^cJSON_Parse|^emit_|^on_response$|^on_parsed$|^json_arena_|^reset_chunk_values$/) return "parse"
    if (sym ~ /^(sqlite|pg|store_pg)_commit$|^commit_one$|^values_to_json$|^store_refresh_metadata$|^store_commit$|^commit_batch$|^commit_finished_batches$/) return "store"
    if (sym ~ /^(sqlite|pg|store_pg)_claim$|^store_claim$|^admit_batch$/) return "claim"
    if (sym ~ /_build_request$|^form_chunk$|^send_chunk$|^http_submit$|^http_poll$|^curl_|^dispatch_source$/) return "http"
    if (sym ~ /^free_batch$|^free_chunk$|^release_open_batches$/) return "cleanup"
    if (sym ~ /^engine_new$|^config_load$|^registry_open$|^store_open$|^_dl_|^dl_main$|^_dl_start|^store_count_by_status$|^engine_print_summary$/) return "setup"
    return ""
}
function flush() {
    if (!insample) return
    total++
    counts[found == "" ? "other" : found]++
    insample = 0
}
/^[^ \t]/ { flush(); if ($1 == prog || prog == "") { insample = 1; found = "" } ; next }
/^$/ { flush(); next }
insample && found == "" {
    sym = $2
    sub(/\+0x[0-9a-f]+$/, "", sym)
    s = stage(sym)
    if (s != "") found = s
}
END {
    flush()
    n = split("parse merge store claim http cleanup setup other", order, " ")
    for (i = 1; i <= n; i++)
        printf "%s %d %.4f\n", order[i], counts[order[i]] + 0, total ? (counts[order[i]] + 0) / total : 0
}

#!/usr/bin/env bash
# hrana-over-http.sh: the Hrana HTTP protocol with nothing but curl.
#   make run                                   # in one terminal
#   examples/hrana-over-http.sh http://127.0.0.1:8080
# A pipeline opens a stream, runs statements in order and, with "close",
# ends it. Integers travel as strings, so they keep all 64 bits.
set -euo pipefail
url=${1:-http://127.0.0.1:8080}
curl -sS -X POST "$url/v2/pipeline" -d @- <<'JSON'
{"requests": [
  {"type": "execute", "stmt": {"sql": "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v INTEGER)"}},
  {"type": "execute", "stmt": {"sql": "INSERT OR REPLACE INTO kv VALUES (?, ?)",
                               "args": [{"type": "text", "value": "answer"}, {"type": "integer", "value": "42"}]}},
  {"type": "execute", "stmt": {"sql": "SELECT k, v FROM kv WHERE k = :k",
                               "named_args": [{"name": "k", "value": {"type": "text", "value": "answer"}}]}},
  {"type": "close"}
]}
JSON
echo

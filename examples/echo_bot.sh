#!/usr/bin/env bash
# An echo bot in bash: `chat listen` prints each message as JSON, jq picks sender, address and
# text, and `chat send --address` answers where the message came from (no lookup needed, so it
# also reaches a `chat send --wait` that never announced itself). At most 4 replies at once: each
# is a process, and a flood of messages must not become a flood of processes.
# Usage: CHAT_BOOTSTRAP=127.0.0.1:PORT examples/echo_bot.sh bot.json
identity=${1:?usage: echo_bot.sh IDENTITY_FILE}
chat listen --identity "$identity" |
  jq --unbuffered -r 'select(.type == "message") | [.from, .address, .text] | @tsv' |
  while IFS=$'\t' read -r from address text; do
    while (( $(jobs -rp | wc -l) >= 4 )); do wait -n; done
    chat send "$from" "echo: $text" --address "$address" --identity "$identity" --timeout 2000 >/dev/null 2>&1 &
  done

#!/usr/bin/env bash
# Real-terminal check of `shopassist chat`: start it inside tmux at 120x40, type a product
# question and an order question with send-keys, read the screen with capture-pane, and
# assert that replies and the Understanding panel are there. Then shrink to 80x24 and check
# the app still draws its input and footer. Exits non-zero on any failure and always kills
# the tmux session.
#
# Usage: scripts/tmux_check.sh [DB]   (DB is copied; default: a fresh demo database)
# Env:   SHOPASSIST  command to run (default: shopassist on PATH, else python -m shopassist)
#        KEEP_SCREENS=1 prints every captured screen.
set -euo pipefail

if [[ -n "${SHOPASSIST:-}" ]]; then
    read -r -a CMD <<<"$SHOPASSIST"
elif command -v shopassist >/dev/null 2>&1; then
    CMD=(shopassist)
else
    CMD=(python -m shopassist)
fi
command -v tmux >/dev/null || { echo "tmux_check: tmux is not installed" >&2; exit 2; }

SESSION="shopassist-check-$$"
WORK="$(mktemp -d)"
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

export SHOPASSIST_HOME="$WORK/home"
DB="$WORK/shop.db"
if [[ -n "${1:-}" ]]; then
    cp "$1" "$DB"
else
    "${CMD[@]}" init --demo --db "$DB" >/dev/null
fi

fail() {
    echo "tmux_check: FAIL: $*" >&2
    echo "----- screen -----" >&2
    tmux capture-pane -t "$SESSION" -p >&2 || true
    exit 1
}

screen() { tmux capture-pane -t "$SESSION" -p; }

# wait_for PATTERN SECONDS [MIN_COUNT]: until the screen shows PATTERN (grep -E) MIN_COUNT times.
wait_for() {
    local pattern="$1" seconds="$2" min="${3:-1}" i count
    for ((i = 0; i < seconds * 5; i++)); do
        count=$(screen | grep -cE -- "$pattern" || true)
        if ((count >= min)); then
            return 0
        fi
        tmux has-session -t "$SESSION" 2>/dev/null || fail "the app exited"
        sleep 0.2
    done
    fail "no '$pattern' (x$min) on screen after ${seconds}s"
}

# Keep the pane open after the app exits, so a crash's traceback can be read.
tmux new-session -d -s "$SESSION" -x 120 -y 40 \
    "$(printf '%q ' "${CMD[@]}") chat --no-llm --db $(printf '%q' "$DB"); echo EXITED \$?; sleep 60"

wait_for "engine ready" 180  # the first run trains the intent model
wait_for "New conversation" 10

tmux send-keys -t "$SESSION" -l "Do you have wireless headphones under \$100?"
tmux send-keys -t "$SESSION" Enter
wait_for "ShopAssist +(template|LLM)" 30 1
wait_for "Intent +[a-z_]+ +[01]\.[0-9]{2}" 10
wait_for "─ Understanding ─" 5
wait_for "─ Knowledge ─" 5
[[ "${KEEP_SCREENS:-}" ]] && screen

tmux send-keys -t "$SESSION" -l "Where is my order 10023?"
tmux send-keys -t "$SESSION" Enter
wait_for "ShopAssist +(template|LLM)" 30 2
wait_for "Intent +track_order" 10
screen | grep -q "Where is my order 10023?" || fail "the order question is not in the conversation"
[[ "${KEEP_SCREENS:-}" ]] && screen

# Escapes never reach the terminal: ESC [ 3 1 m would show up as "[31m" residue or colour.
tmux send-keys -t "$SESSION" -l $'hello \e[31mRED\e[0m [bold]x[/bold]'
tmux send-keys -t "$SESSION" Enter
wait_for "ShopAssist +(template|LLM)" 30 3
screen | grep -q "hello RED \[bold\]x\[/bold\]" || fail "hostile text not shown literally and cleaned"

tmux resize-window -t "$SESSION" -x 80 -y 24
sleep 1
wait_for "Enter sends" 5
wait_for "\^p palette" 5
tmux send-keys -t "$SESSION" C-b   # insight panels take the conversation's place
wait_for "─ Understanding ─" 5
[[ "${KEEP_SCREENS:-}" ]] && screen

tmux send-keys -t "$SESSION" C-q
wait_for "EXITED 0" 15
echo "tmux_check: OK"

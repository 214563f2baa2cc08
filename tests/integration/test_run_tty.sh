# maelstrom-run --tty: an interactive busybox shell in a container, driven
# through tmux (send keys, read the pane). Each test runs its command in a
# script that records the pane's terminal mode (stty -g) before and after
# maelstrom-run and its exit status, then stays alive so the pane can still
# be read. tmux keeps its socket under $SCRATCH, so this works as nobody too.

TTY_COLS=100
TTY_ROWS=30

tty_tmux() {
	env -u TMUX tmux -S "$SCRATCH/tmux.sock" -f "$SCRATCH/tmux.conf" "$@"
}

# tty_job [PROGRAM]: an interactive job on busybox (with tty, stty and od).
tty_job() {
	local program=${1:-/bin/sh} layers
	layers=$(bb_layers)
	layers="${layers%]}, { \"symlinks\": [ {\"link\": \"/bin/tty\", \"target\": \"busybox\"},
	  {\"link\": \"/bin/stty\", \"target\": \"busybox\"},
	  {\"link\": \"/bin/od\", \"target\": \"busybox\"} ] } ]"
	printf '{ "layers": %s, "environment": {"PATH": "/bin", "PS1": "bb> ", "HOME": "/"},
	  "mounts": [ {"type": "proc", "mount_point": "/proc"},
	              {"type": "devpts", "mount_point": "/dev/pts"} ],
	  "program": "%s" }\n' "$layers" "$program"
}

# tty_start NAME COMMAND: runs COMMAND (a shell line) in a fresh tmux pane of
# TTY_COLS x TTY_ROWS. NAME.before / NAME.after get `stty -g` around it and
# NAME.status its exit status (written last).
tty_start() {
	local name=$1 cmd=$2
	# nobody's login shell is nologin: name a real one.
	printf 'set -g status off\nset -g remain-on-exit on\nset -g default-shell /bin/sh\n' \
		>"$SCRATCH/tmux.conf"
	cat >"$SCRATCH/$name.sh" <<EOF
cd "$SCRATCH"
stty -g >$name.before
$cmd
st=\$?
stty -g >$name.after
echo "== $name ended with \$st"
echo \$st >$name.status
exec sleep 3600
EOF
	tty_tmux new-session -d -s tty -x "$TTY_COLS" -y "$TTY_ROWS" "bash $SCRATCH/$name.sh" ||
		{ fail "tmux would not start"; return 1; }
}

tty_stop() {
	tty_tmux kill-server 2>/dev/null
	return 0
}

tty_pane() {
	tty_tmux capture-pane -p -J -t tty
}

# tty_wait_pane TEXT: waits (up to a minute) until the pane shows TEXT.
tty_wait_pane() {
	local i
	for i in $(seq 600); do
		tty_pane | grep -qF -- "$1" && return 0
		sleep 0.1
	done
	fail "the pane never showed [$1]; it shows:"
	tty_pane >&2
	return 1
}

# tty_wait_status NAME: waits until NAME.status exists; sets STATUS.
tty_wait_status() {
	local i
	for i in $(seq 600); do
		if [ -s "$SCRATCH/$1.status" ]; then
			STATUS=$(cat "$SCRATCH/$1.status")
			return 0
		fi
		sleep 0.1
	done
	fail "maelstrom-run never ended; the pane shows:"
	tty_pane >&2
	return 1
}

tty_keys() {
	tty_tmux send-keys -t tty "$@"
}

# tty_type LINE: types LINE and Enter.
tty_type() {
	tty_tmux send-keys -t tty -l "$1" && tty_tmux send-keys -t tty Enter
}

tty_expect_restored() {
	expect_eq "terminal mode after maelstrom-run (stty -g)" \
		"$(cat "$SCRATCH/$1.before")" "$(cat "$SCRATCH/$1.after")"
}

t_tty_shell_round_trip() {
	tty_job >job.json
	tty_start shell "'$RUN' --tty -f job.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		tty_type 'echo hi-$((6*7))'
		tty_wait_pane "hi-42" || exit 1
		tty_type 'echo size=$(stty size)'
		tty_wait_pane "size=$TTY_ROWS $TTY_COLS" || exit 1
		# The window changes: the job's terminal follows (SIGWINCH).
		tty_tmux resize-window -t tty -x 120 -y 40 || exit 1
		tty_type 'echo resized=$(stty size)'
		tty_wait_pane "resized=40 120" || exit 1
		# ^C reaches the job's shell, not maelstrom-run.
		tty_type 'sleep 4242'
		tty_keys C-c
		tty_type 'echo still-$((1+1))-here'
		tty_wait_pane "still-2-here" || exit 1
		tty_type 'exit 3'
		tty_wait_status shell || exit 1
		expect_eq "exit status" 3 "$STATUS" || exit 1
		tty_expect_restored shell
	)
	local rc=$?
	tty_stop
	[ $rc -eq 0 ] && expect_no_leftovers 'sleep 4242'
}

t_tty_escape_detaches_and_kills_the_job() {
	tty_job >job.json
	tty_start detach "'$RUN' --tty -f job.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		tty_type 'sleep 4343 & echo started-$((1+1))'
		tty_wait_pane "started-2" || exit 1
		tty_keys C-] C-c
		tty_wait_status detach || exit 1
		expect_eq "exit status" 1 "$STATUS" || exit 1
		tty_wait_pane "detached (^] then ^C)" || exit 1
		tty_expect_restored detach
	)
	local rc=$?
	tty_stop
	[ $rc -eq 0 ] && expect_no_leftovers 'sleep 4343'
}

t_tty_escape_twice_sends_it_once() {
	tty_job >job.json
	tty_start twice "'$RUN' --tty -f job.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		tty_type 'read x; echo got-$(printf %s "$x" | od -An -tx1 | tr -d " ")-end'
		# ^] ^] z Enter: the job reads 1d 7a.
		tty_keys C-] C-] z Enter
		tty_wait_pane "got-1d7a-end" || exit 1
		# ^] followed by anything else: both go to the job.
		tty_type 'read y; echo got2-$(printf %s "$y" | od -An -tx1 | tr -d " ")-end'
		tty_keys C-] q Enter
		tty_wait_pane "got2-1d71-end" || exit 1
		tty_type 'exit 0'
		tty_wait_status twice || exit 1
		expect_eq "exit status" 0 "$STATUS" || exit 1
		tty_expect_restored twice
	)
	local rc=$?
	tty_stop
	return $rc
}

t_tty_custom_escape_char() {
	tty_job >job.json
	tty_start custom "'$RUN' --tty --escape-char '^A' -f job.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		# ^] is an ordinary key now.
		tty_keys C-] C-c
		tty_type 'echo ali$((0))ve'
		tty_wait_pane "ali0ve" || exit 1
		tty_keys C-a C-c
		tty_wait_status custom || exit 1
		expect_eq "exit status" 1 "$STATUS" || exit 1
		tty_wait_pane "detached (^A then ^C)" || exit 1
		tty_expect_restored custom
	)
	local rc=$?
	tty_stop
	return $rc
}

t_tty_missing_program_is_reported() {
	tty_job /bin/no-such-shell >job.json
	tty_start missing "'$RUN' --tty -f job.json" || return 1
	(
		tty_wait_status missing || exit 1
		expect_eq "exit status" 1 "$STATUS" || exit 1
		tty_wait_pane "execution error" || exit 1
		tty_wait_pane "no-such-shell" || exit 1
		tty_expect_restored missing
	)
	local rc=$?
	tty_stop
	return $rc
}

t_tty_sigterm_restores_the_terminal() {
	tty_job >job.json
	cp job.json job-term.json
	tty_start term "'$RUN' --tty -f job-term.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		tty_type 'sleep 4444'
		local pid
		pid=$(pgrep -f 'maelstrom-run --tty -f job-term.json' | head -1)
		[ -n "$pid" ] || { fail "maelstrom-run not found"; exit 1; }
		kill -TERM "$pid"
		tty_wait_status term || exit 1
		expect_eq "exit status (128 + SIGTERM)" 143 "$STATUS" || exit 1
		tty_expect_restored term
	)
	local rc=$?
	tty_stop
	[ $rc -eq 0 ] && expect_no_leftovers 'sleep 4444'
}

t_tty_spec_on_stdin_then_the_terminal() {
	# The issue's form: the spec on standard input (not a terminal), the
	# keys from the controlling terminal.
	tty_job >job.json
	tty_start stdin "'$RUN' --tty < job.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		tty_type 'echo via-$((40+2))-dev-tty'
		tty_wait_pane "via-42-dev-tty" || exit 1
		tty_type 'exit 5'
		tty_wait_status stdin || exit 1
		expect_eq "exit status" 5 "$STATUS" || exit 1
		tty_expect_restored stdin
	)
	local rc=$?
	tty_stop
	return $rc
}

t_tty_without_a_terminal() {
	# No terminal at all: standard input is relayed as typed, its end is
	# the job's end of file, and the size is 80x24.
	tty_job >job.json
	local out
	out=$(printf 'echo piped-$((2+3)) $(stty size)\nexit 4\n' |
		setsid -w timeout 60 "$RUN" --tty -f job.json 2>&1)
	expect_eq "exit status" 4 "$?" || { echo "$out"; return 1; }
	expect_contains "output" "piped-5 24 80" "$out" || return 1
	out=$(setsid -w timeout 60 "$RUN" --tty -f job.json </dev/null 2>&1)
	expect_eq "exit status at end of input" 0 "$?" || { echo "$out"; return 1; }
}

t_tty_positional_arguments_replace_program() {
	tty_job >job.json
	local out
	out=$(setsid -w timeout 60 "$RUN" --tty -f job.json -- /bin/sh -c 'echo replaced-$(stty size); exit 6' \
		</dev/null 2>&1)
	expect_eq "exit status" 6 "$?" || { echo "$out"; return 1; }
	expect_contains "output" "replaced-24 80" "$out"
}

t_tty_job_sees_its_terminal() {
	# The job's stdin, stdout and stderr are one terminal, which `tty` can
	# name inside the container.
	tty_job >job.json
	local out
	out=$(setsid -w timeout 60 "$RUN" --tty -f job.json -- /bin/sh -c \
		'for fd in 0 1 2; do [ -t $fd ] && echo fd$fd-is-a-tty; done; echo name=$(tty)' \
		</dev/null 2>&1)
	expect_eq "exit status" 0 "$?" || { echo "$out"; return 1; }
	expect_contains "stdin" "fd0-is-a-tty" "$out" || return 1
	expect_contains "stdout" "fd1-is-a-tty" "$out" || return 1
	expect_contains "stderr" "fd2-is-a-tty" "$out" || return 1
	expect_contains "tty" "name=/dev/pts/" "$out"
}

t_tty_usage_errors() {
	local out
	out=$("$RUN" --tty --one </dev/null 2>&1)
	expect_eq "--tty --one status" 2 "$?" || return 1
	expect_contains "--tty --one" "cannot be used together" "$out" || return 1
	out=$("$RUN" --tty --escape-char 'ab' </dev/null 2>&1)
	expect_eq "bad escape-char status" 2 "$?" || return 1
	expect_contains "bad escape-char" "--escape-char: \`ab\` is more than one character" "$out" ||
		return 1
	out=$(setsid -w "$RUN" --tty </dev/null 2>&1)
	expect_eq "no spec status" 1 "$?" || return 1
	expect_contains "no spec" "no job spec in the input" "$out" || return 1
	out=$(printf '{"layers": [], "program": 3}' | setsid -w "$RUN" --tty 2>&1)
	expect_eq "bad spec status" 1 "$?" || return 1
	expect_contains "bad spec" "field \`program\`" "$out"
}

# tty_proc_state PID: the process state letter (R, S, T...).
tty_proc_state() {
	awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null
}

t_tty_escape_suspends_and_resumes() {
	tty_job >job-suspend.json
	tty_start suspend "'$RUN' --tty -f job-suspend.json" || return 1
	(
		tty_wait_pane "bb> " || exit 1
		local pane_tty pid i
		pane_tty=$(tty_tmux display -p -t tty '#{pane_tty}')
		pid=$(pgrep -f 'maelstrom-run --tty -f job-suspend.json' | head -1)
		[ -n "$pid" ] || { fail "maelstrom-run not found"; exit 1; }
		# Raw while the session runs.
		[ "$(stty -g <"$pane_tty")" != "$(cat suspend.before)" ] ||
			{ fail "the terminal is not in raw mode during the session"; exit 1; }
		tty_keys C-] C-z
		for i in $(seq 600); do
			[ "$(tty_proc_state "$pid")" = T ] && break
			sleep 0.1
		done
		expect_eq "state after ^] ^Z" T "$(tty_proc_state "$pid")" || exit 1
		# Suspended: the terminal is the user's again.
		expect_eq "terminal mode while suspended" "$(cat suspend.before)" \
			"$(stty -g <"$pane_tty")" || exit 1
		kill -CONT "$pid"
		tty_type 'echo back-$((1+1))'
		tty_wait_pane "back-2" || exit 1
		[ "$(stty -g <"$pane_tty")" != "$(cat suspend.before)" ] ||
			{ fail "the terminal is not raw again after resuming"; exit 1; }
		tty_type 'exit 0'
		tty_wait_status suspend || exit 1
		expect_eq "exit status" 0 "$STATUS" || exit 1
		tty_expect_restored suspend
	)
	local rc=$?
	tty_stop
	return $rc
}

t_tty_spec_typed_at_the_terminal() {
	# Standard input is the terminal: the spec is typed, and the Enter that
	# ends it is not the job's.
	tty_job | tr -d '\n' >job-line.json
	tty_start typed "'$RUN' --tty" || return 1
	(
		tty_type "$(cat job-line.json)"
		# (The typed spec itself shows the prompt text: wait for the shell.)
		tty_wait_pane "built-in shell" || exit 1
		tty_type 'echo typed-$((3*3))'
		tty_wait_pane "typed-9" || exit 1
		tty_type 'exit 2'
		tty_wait_status typed || exit 1
		expect_eq "exit status" 2 "$STATUS" || exit 1
		tty_expect_restored typed
	)
	local rc=$?
	tty_stop
	return $rc
}

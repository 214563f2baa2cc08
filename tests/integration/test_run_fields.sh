# Every job-spec field and mount kind, checked by its effect inside the container.

t_pid_one_and_own_hostname_namespace() {
	run_one "$(bb_job 'echo $$; hostname x && hostname')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "pid and hostname" "1
x" "$OUT"
}

t_network_disabled_has_no_interfaces_up() {
	run_one "$(bb_job 'cat /proc/net/dev | tail -n +3 | wc -l; ip link show lo | head -1' \
		'"mounts": [{"type": "proc", "mount_point": "/proc"}]')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_contains "lo is down" "<LOOPBACK>" "$OUT" || return 1
	case "$OUT" in *"LOWER_UP"*) fail "lo must not be up: $OUT" ;; esac
}

t_network_loopback_brings_lo_up() {
	run_one "$(bb_job 'ip link show lo | head -1; ip link | grep -c "^[0-9]"' \
		'"network": "loopback", "mounts": [{"type": "proc", "mount_point": "/proc"}]')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_contains "lo up" "UP" "$OUT" || return 1
	expect_eq "only lo" 1 "$(printf '%s\n' "$OUT" | tail -1)"
}

t_network_local_sees_host_interfaces() {
	local host_ifs
	host_ifs=$(ls /sys/class/net | wc -l)
	run_one "$(bb_job 'ls /sys/class/net | wc -l' \
		'"network": "local", "mounts": [{"type": "proc", "mount_point": "/proc"}, {"type": "bind", "mount_point": "/sys", "local_path": "/sys", "read_only": true}]')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "interfaces" "$host_ifs" "$OUT"
}

t_root_is_read_only_by_default() {
	run_one "$(bb_job 'touch /newfile 2>&1; echo rc=$?')"
	expect_contains "read-only" "Read-only file system" "$OUT" || return 1
	expect_contains "rc" "rc=1" "$OUT"
}

t_writable_file_system() {
	run_one "$(bb_job 'echo data >/newfile && cat /newfile && echo more >>/data/file && cat /data/file' \
		'"enable_writable_file_system": true')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "output" "data
more" "$OUT" || return 1
	# Nothing leaked into the next job.
	run_one "$(bb_job 'ls /newfile 2>&1 || echo gone' '"enable_writable_file_system": true')"
	expect_contains "fresh root" "gone" "$OUT"
}

t_user_and_group() {
	run_one "$(bb_job 'id -u; id -g' '"user": 1234, "group": 4321')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "ids" "1234
4321" "$OUT"
}

t_working_directory() {
	run_one "$(bb_job 'pwd' '"working_directory": "/work"')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "pwd" "/work" "$OUT"
}

t_environment_implicit_and_expansion() {
	local job
	job='{ "layers": '"$(bb_layers)"', "program": "/bin/sh", "arguments": ["-c", "echo $FOO $BAR $DEF"],
	  "environment": {"PATH": "/bin", "FOO": "foo", "BAR": "$env{MR_TEST_BAR}", "DEF": "$env{MR_UNSET:-dflt}"} }'
	MR_TEST_BAR=bar run_one "$job"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "env" "foo bar dflt" "$OUT"
}

t_environment_explicit_extend_and_prev() {
	local job
	job='{ "layers": '"$(bb_layers)"', "program": "/bin/env",
	  "environment": [ {"vars": {"PATH": "/bin", "A": "1", "B": "2"}, "extend": false},
	                   {"vars": {"A": "$prev{A}x", "C": "3"}, "extend": true},
	                   {"vars": {"PATH": "$prev{PATH}", "A": "$prev{A}", "C": "$prev{C}"}, "extend": false} ] }'
	run_one "$job"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "env" "A=1x
C=3
PATH=/bin" "$(printf '%s\n' "$OUT" | sort)"
}

t_program_searched_in_path() {
	local job
	job='{ "layers": '"$(bb_layers)"', "program": "echo", "arguments": ["found"], "environment": {"PATH": "/nope:/bin"} }'
	run_one "$job"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "out" "found" "$OUT"
}

t_mount_tmp_proc_sys_mqueue_devpts() {
	run_one "$(bb_job 'touch /tmp/x && echo tmp-ok; cat /proc/1/cmdline | head -c 7; echo; ls /sys/kernel >/dev/null && echo sys-ok; ls -d /dev/mqueue && ls /dev/pts/ptmx' \
		'"mounts": [ {"type": "tmp", "mount_point": "/tmp"}, {"type": "proc", "mount_point": "/proc"},
		             {"type": "sys", "mount_point": "/sys"}, {"type": "mqueue", "mount_point": "/dev/mqueue"},
		             {"type": "devpts", "mount_point": "/dev/pts"}, {"type": "devices", "devices": ["null"]} ]')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "out" "tmp-ok
/bin/sh
sys-ok
/dev/mqueue
/dev/pts/ptmx" "$OUT"
}

t_mount_devices() {
	run_one "$(bb_job 'head -c 4 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; echo x >/dev/null && echo null-ok; echo x 2>&1 >/dev/full | grep -c "No space"' \
		'"mounts": [ {"type": "devices", "devices": ["zero", "urandom", "null", "full", "random", "tty"]} ]')"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "out" "4
8
null-ok
1" "$OUT"
}

t_mount_bind_read_only_and_read_write() {
	mkdir -p in out
	echo hello >in/f
	local m='"mounts": [ {"type": "bind", "mount_point": "/mnt", "local_path": "in", "read_only": true},
	                     {"type": "bind", "mount_point": "/work", "local_path": "out", "read_only": false} ]'
	run_one "$(bb_job 'cat /mnt/f; touch /mnt/g 2>/dev/null || echo ro-ok; echo written >/work/result' "$m")"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "out" "hello
ro-ok" "$OUT" || return 1
	expect_eq "file written through the bind mount" "written" "$(cat out/result)"
}

t_timeout_kills_the_whole_container() {
	local start end
	start=$(date +%s)
	run_one "$(bb_job 'echo before; sleep 100 & sleep 100' '"timeout": 1')"
	end=$(date +%s)
	[ "$CODE" -ne 0 ] || fail "a timed-out job must fail" || return 1
	expect_contains "partial output" "before" "$OUT" || return 1
	expect_contains "message" "timed out" "$ERR" || return 1
	[ $((end - start)) -lt 30 ] || fail "took $((end - start)) s" || return 1
	sleep 0.2
	expect_no_leftovers 'sleep 100'
}

t_output_truncated_at_inline_limit() {
	run_one "$(bb_job 'busybox head -c 5000 /dev/zero | busybox tr "\\0" a; busybox head -c 3000 /dev/zero | busybox tr "\\0" b >&2' \
		'"mounts": [ {"type": "devices", "devices": ["zero"]} ]')" --inline-limit 1000
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "kept stdout" 1000 "${#OUT}" || return 1
	expect_contains "stdout truncation" "4000 bytes" "$ERR" || return 1
	expect_contains "stderr truncation" "2000 bytes" "$ERR"
}

t_layer_kinds_glob_stubs_symlinks_tar() {
	mkdir -p src/pkg/sub
	echo a >src/pkg/a.py
	echo b >src/pkg/sub/b.py
	echo c >src/pkg/c.txt
	mkdir -p tarroot/opt
	echo from-tar >tarroot/opt/t
	tar -C tarroot -cf layer.tar opt
	local job
	job='{ "layers": [
	  { "paths": ["'"$BUSYBOX"'"], "strip_prefix": "'"$(dirname "$BUSYBOX")"'/", "prepend_prefix": "/bin/" },
	  { "glob": "src/**.py", "strip_prefix": "src/", "prepend_prefix": "/code/" },
	  { "stubs": ["/empty/{one,two}", "/emptydir/"] },
	  { "symlinks": [{"link": "/linked", "target": "/code/pkg/a.py"}] },
	  { "tar": "layer.tar" } ],
	  "program": "/bin/busybox",
	  "arguments": ["sh", "-c", "busybox cat /code/pkg/a.py /code/pkg/sub/b.py /linked /opt/t; busybox ls /code/pkg; busybox ls /empty; busybox ls -d /emptydir"] }'
	run_one "$job"
	expect_eq "exit" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "out" "a
b
a
from-tar
a.py
sub
one
two
/emptydir" "$OUT"
}

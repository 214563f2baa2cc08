# Container images end to end (book: container-images.md): busybox images
# built here with umoci (image_lib.sh), served by a private docker-registry
# on loopback, pulled by maelstrom-run, cargo-maelstrom and
# maelstrom-pytest, standalone and in cluster mode; plus `oci:` and
# `oci-archive:` images. Each test starts its own registry (storage in
# $SCRATCH) and stops it on exit; the depot and caches are the test's fresh
# XDG directories, and the tags lock file lands in the working directory
# ($SCRATCH), maelstrom-run's project directory.

source "$(dirname "${BASH_SOURCE[0]}")/image_lib.sh"

IMG_LOCK=maelstrom-container-tags.lock

# img_setup [NLAYERS]: tools, the image "first" as $SCRATCH/oci:1, a
# registry holding it as bb:1; sets IMG (its docker:// name).
img_setup() {
	img_need_tools || return 1
	img_build "$SCRATCH/oci" 1 first "${1:-3}" || return 1
	img_registry_start || return 1
	img_push "$SCRATCH/oci" 1 bb 1 || return 1
	IMG=docker://$IMG_REG/bb:1
}

# img_run IMAGE SCRIPT [EXTRA_FIELDS]: maelstrom-run --one of img_job.
img_run() {
	run_one "$(img_job "$@")"
}

# img_expect_ok WHAT EXPECTED_OUTPUT: the last run exited 0 with that output.
img_expect_ok() {
	expect_eq "$1: exit status (stderr: $ERR)" 0 "$CODE" || return 1
	expect_eq "$1: output" "$2" "$OUT"
}

# img_access_count: requests the registry has logged so far.
img_access_count() {
	grep -c '"GET /v2/\|"HEAD /v2/' "$IMG_REG_DIR/log"
}

# ---- pulling and running ------------------------------------------------------

t_image_pull_and_run() {
	img_setup || return 1
	img_run "$IMG" 'cat /etc/mark; echo "$IMG_MARK"; /bin/busybox | head -1 | grep -c BusyBox'
	img_expect_ok "first run" "first
first
1"
}

t_image_whiteouts_and_opaque_directories_applied() {
	img_setup || return 1
	img_run "$IMG" 'echo etc: $(ls -a /etc); echo data: $(ls -a /data); cat /data/new'
	# etc/gone is deleted by layer 2's whiteout; data/ is opaque in layer 3,
	# so old1 and old2 of layer 1 are gone; no .wh. entry is left.
	img_expect_ok "listing" "etc: . .. keep layer2 mark
data: . .. new
new"
}

t_image_environment_and_working_directory() {
	img_setup || return 1
	local use='"use": ["layers", "environment", "working_directory"]'
	run_one "{ \"image\": { \"name\": \"$IMG\", $use },
		\"environment\": [ { \"vars\": { \"EXTRA\": \"\$prev{IMG_MARK}-x\" }, \"extend\": true } ],
		\"program\": \"sh\", \"arguments\": [\"-c\", \"echo \$IMG_FROM \$EXTRA \$PATH; pwd; cat here\"] }"
	img_expect_ok "extended environment, image's working directory" "image first-x /bin
/work
here" || return 1
	# extend = false replaces the image's environment.
	run_one "{ \"image\": { \"name\": \"$IMG\", $use },
		\"environment\": [ { \"vars\": { \"ONLY\": \"1\" }, \"extend\": false } ],
		\"program\": \"/bin/sh\", \"arguments\": [\"-c\", \"echo [\$IMG_FROM] [\$IMG_MARK] \$ONLY\"] }"
	img_expect_ok "replaced environment" "[] [] 1" || return 1
	# Without `environment` in `use`, nothing of the image's Env; without
	# `working_directory`, the root.
	run_one "{ \"image\": { \"name\": \"$IMG\", \"use\": [\"layers\"] },
		\"program\": \"/bin/sh\", \"arguments\": [\"-c\", \"echo [\$IMG_MARK]; pwd\"] }"
	img_expect_ok "layers only" "[]
/" || return 1
	# The working directory alone (layers from the spec: busybox).
	run_one "{ \"image\": { \"name\": \"$IMG\", \"use\": [\"working_directory\"] },
		\"layers\": $(bb_layers), \"environment\": {\"PATH\": \"/bin\"},
		\"program\": \"/bin/sh\", \"arguments\": [\"-c\", \"pwd; ls /etc 2>&1 | head -1\"] }"
	expect_eq "working directory only: exit (stderr: $ERR)" 0 "$CODE" || return 1
	expect_eq "working directory only: pwd" /work "$(printf '%s\n' "$OUT" | head -1)" || return 1
	case $OUT in
	*mark*) fail "the image's layers were used though \`use\` lacks layers: $OUT" ;;
	esac
}

t_image_added_layers_on_top() {
	img_setup || return 1
	mkdir -p over && echo replaced >over/mark && echo added >over/added
	run_one "{ \"image\": \"$IMG\",
		\"added_layers\": [ { \"paths\": [\"over/mark\", \"over/added\"], \"strip_prefix\": \"over/\", \"prepend_prefix\": \"/etc/\" },
		                    { \"stubs\": [\"/extra/stub\"] } ],
		\"program\": \"/bin/sh\", \"arguments\": [\"-c\", \"cat /etc/mark /etc/added /etc/keep; ls /extra\"] }"
	img_expect_ok "added layers over the image" "replaced
added
keep
stub"
}

t_image_stream_of_jobs_resolves_once() {
	img_setup || return 1
	local i before
	for i in $(seq 1 12); do
		img_job "$IMG" "echo job-$i \$IMG_MARK"
	done >jobs.json
	before=$(img_access_count)
	run_stream -f jobs.json
	expect_eq "exit (stderr: $ERR)" 0 "$CODE" || return 1
	expect_eq "jobs that printed" 12 "$(printf '%s\n' "$OUT" | grep -c '^job-[0-9]* first$')" || return 1
	# One resolution: one manifest GET (plus the config and layer blobs),
	# not one per job.
	local manifests
	manifests=$(sed -n "$((before + 1)),\$p" "$IMG_REG_DIR/log" | grep -c 'GET /v2/bb/manifests/')
	expect_eq "manifest requests for 12 jobs" 1 "$manifests"
}

# ---- lock file and depot ----------------------------------------------------------

t_image_lock_file_pins_the_tag() {
	img_setup || return 1
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "first run" first || return 1
	[ -s "$IMG_LOCK" ] || { fail "no $IMG_LOCK in the working directory: $(ls)"; return 1; }
	local line1
	line1=$(grep -F "\"$IMG\"" "$IMG_LOCK")
	expect_contains "lock file line for $IMG" '= "sha256:' "$line1" || return 1
	# Another image under the same tag: the locked run keeps the old one.
	img_build "$SCRATCH/oci" 2 second || return 1
	img_push "$SCRATCH/oci" 2 bb 1 || return 1
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "run pinned by the lock file" first || return 1
	# Deleting the line resolves the tag again.
	grep -vF "\"$IMG\"" "$IMG_LOCK" >lock.new && mv lock.new "$IMG_LOCK"
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "run after deleting the line" second || return 1
	local line2
	line2=$(grep -F "\"$IMG\"" "$IMG_LOCK")
	[ -n "$line2" ] && [ "$line2" != "$line1" ] ||
		fail "the lock file should pin the new digest: before [$line1], after [$line2]"
}

t_image_second_run_transfers_nothing() {
	img_setup || return 1
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "first run" first || return 1
	local before
	before=$(img_access_count)
	[ "$before" -gt 0 ] || { fail "the registry logged no request: $(tail -3 "$IMG_REG_DIR/log")"; return 1; }
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "second run" first || return 1
	expect_eq "registry requests during the second run" "$before" "$(img_access_count)" || return 1
	# And with the registry gone, the depot alone serves it.
	img_registry_stop
	img_run "$IMG" 'cat /etc/mark'
	img_expect_ok "run with the registry stopped" first
}

t_image_depot_root_option() {
	img_setup || return 1
	run_one "$(img_job "$IMG" 'cat /etc/mark')" --container-image-depot-root "$SCRATCH/depot"
	img_expect_ok "run with a depot root" first || return 1
	[ -n "$(find "$SCRATCH/depot" -type f 2>/dev/null | head -1)" ] ||
		fail "nothing was stored under --container-image-depot-root $SCRATCH/depot"
}

# ---- errors ----------------------------------------------------------------------

t_image_digest_mismatch_rejected() {
	img_setup || return 1
	local last blob
	last=$(img_layer_digests "$SCRATCH/oci" 1 | tail -1)
	blob=$(img_registry_blob "$last")
	[ -f "$blob" ] || { fail "no blob $blob in the registry's storage"; return 1; }
	# Same size, different bytes: only the digest can tell.
	chmod u+w "$blob"
	printf 'XXXX' | dd of="$blob" bs=1 seek=20 conv=notrunc status=none
	img_run "$IMG" 'echo ran'
	[ "$CODE" -ne 0 ] || { fail "a corrupt layer was accepted (output: $OUT)"; return 1; }
	expect_contains "message" "field \`image\`" "$ERR" || return 1
	case $ERR in
	*digest*) ;;
	*) fail "the message should say the digest does not match: $ERR"; return 1 ;;
	esac
	[ "$OUT" != ran ] || fail "the job ran"
}

t_image_manifest_digest_mismatch_rejected() {
	img_setup || return 1
	img_tamper_start || return 1
	# Pin the tag to its real digest, through the stand-in, in the lock
	# file; then, with an empty depot, the stand-in serves a manifest
	# whose bytes do not hash to it.
	local tampered=docker://$IMG_TAMPER/bb:1 digest
	img_run "$IMG" 'true'
	img_expect_ok "first run" "" || return 1
	digest=$(sed -n "s|^\"$IMG\" = \"\(sha256:[0-9a-f]*\)\"\$|\1|p" "$IMG_LOCK")
	[ -n "$digest" ] || { fail "no digest for $IMG in $IMG_LOCK: $(cat "$IMG_LOCK")"; return 1; }
	printf '"%s" = "%s"\n' "$tampered" "$digest" >>"$IMG_LOCK"
	run_one "$(img_job "$tampered" 'echo ran')" --container-image-depot-root "$SCRATCH/depot2"
	[ "$CODE" -ne 0 ] || { fail "a manifest that does not match its digest was accepted"; return 1; }
	expect_contains "message" "field \`image\`" "$ERR" || return 1
	case $ERR in
	*digest*) ;;
	*) fail "the message should say the digest does not match: $ERR"; return 1 ;;
	esac
	# Resolving the tag anew through the stand-in fails too: the
	# registry's Docker-Content-Digest header names the original digest.
	grep -vF "\"$tampered\"" "$IMG_LOCK" >lock.new && mv lock.new "$IMG_LOCK"
	run_one "$(img_job "$tampered" 'echo ran')" --container-image-depot-root "$SCRATCH/depot3"
	[ "$CODE" -ne 0 ] || { fail "a manifest that does not match the registry's digest header was accepted"; return 1; }
	expect_contains "message" "digest" "$ERR" || return 1
	grep -qF "\"$tampered\"" "$IMG_LOCK" && fail "a tampered manifest's digest was pinned: $(cat "$IMG_LOCK")"
	return 0
}

t_image_plain_http_option() {
	# 127.0.0.2 is loopback to the kernel but not one of the names spoken
	# to in plain HTTP by default: HTTPS fails until the option lists it.
	IMG_REG_HOST=127.0.0.2
	img_setup || return 1
	img_run "$IMG" 'cat /etc/mark'
	[ "$CODE" -ne 0 ] || { fail "HTTPS to a plain HTTP registry succeeded"; return 1; }
	expect_contains "message" "container-registry-plain-http" "$ERR" || return 1
	run_one "$(img_job "$IMG" 'cat /etc/mark')" --container-registry-plain-http "example.org,$IMG_REG"
	img_expect_ok "run with the registry listed" first || return 1
	# The host alone (any port), from the environment this time.
	rm -f "$IMG_LOCK"
	MAELSTROM_RUN_CONTAINER_REGISTRY_PLAIN_HTTP=127.0.0.2 run_one "$(img_job "$IMG" 'cat /etc/mark')" \
		--container-image-depot-root "$SCRATCH/depot2"
	img_expect_ok "run with the host listed in the environment" first
}

t_image_registry_down_is_a_clear_error() {
	img_need_tools || return 1
	local port
	port=$(img_free_port) || return 1
	img_run "docker://127.0.0.1:$port/bb:1" 'echo ran'
	[ "$CODE" -ne 0 ] || { fail "exit status 0 with no registry"; return 1; }
	expect_contains "message" "field \`image\`" "$ERR" || return 1
	expect_contains "message" "127.0.0.1:$port" "$ERR" || return 1
	[ -z "$OUT" ] || fail "unexpected output: $OUT"
}

t_image_unknown_tag_is_a_clear_error() {
	img_setup || return 1
	img_run "docker://$IMG_REG/bb:nope" 'echo ran'
	[ "$CODE" -ne 0 ] || { fail "exit status 0 for an unknown tag"; return 1; }
	expect_contains "message" "field \`image\`" "$ERR" || return 1
	expect_contains "message" "bb:nope" "$ERR"
}

t_image_error_fails_only_its_jobs() {
	img_setup || return 1
	{
		img_job "docker://$IMG_REG/bb:nope" 'echo bad'
		img_job "$IMG" 'echo good'
		bb_job 'echo plain'
	} >jobs.json
	run_stream -f jobs.json
	[ "$CODE" -ne 0 ] || { fail "exit status 0 though one job failed"; return 1; }
	expect_eq "outputs" "good
plain" "$(printf '%s\n' "$OUT" | sort)" || return 1
	expect_contains "message" "bb:nope" "$ERR"
}

# ---- other sources ------------------------------------------------------------------

t_image_oci_layout_and_archive() {
	img_need_tools || return 1
	img_build "$SCRATCH/oci" 1 first || return 1
	img_run "oci:$SCRATCH/oci:1" 'cat /etc/mark; ls /data'
	img_expect_ok "oci: layout" "first
new" || return 1
	img_build "$SCRATCH/oci" 2 second || return 1
	tar -C "$SCRATCH/oci" -cf "$SCRATCH/img.tar" . || { fail "cannot tar the layout"; return 1; }
	img_run "oci-archive:$SCRATCH/img.tar:2" 'cat /etc/mark; echo "$IMG_MARK"'
	img_expect_ok "oci-archive: file" "second
second"
}

# ---- cluster mode ---------------------------------------------------------------------

t_image_in_cluster_mode() {
	img_need_tools || return 1
	source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"
	cluster_basic 2 || return 1
	# The client pulls: the registry runs on the client's host (its own
	# loopback when hosts are network namespaces).
	cl_cmd client
	IMG_ON=("${CL_CMD[@]}")
	img_build "$SCRATCH/oci" 1 first || return 1
	img_registry_start || return 1
	img_push "$SCRATCH/oci" 1 bb 1 || return 1
	local i
	for i in $(seq 1 8); do
		img_job "docker://$IMG_REG/bb:1" "echo job-$i \$(cat /etc/mark) \$(ls /data)"
	done >jobs.json
	cluster_run -L debug -f "$SCRATCH/jobs.json"
	expect_eq "exit (stderr: $(printf '%s\n' "$ERR" | tail -3))" 0 "$CODE" || return 1
	expect_eq "jobs that ran on the image" 8 "$(printf '%s\n' "$OUT" | grep -c '^job-[0-9]* first new$')" ||
		return 1
	# The jobs ran on the workers, not on the client's local worker.
	local ran
	ran=$(printf '%s\n' "$ERR" | sed -n 's/.*job [0-9]* ran on //p' | grep -c .)
	if [ "$ran" -gt 0 ]; then
		expect_eq "'ran on' lines" 8 "$ran"
	else
		cluster_wait_status '[.workers[].completed // 0] | add >= 8' true 20 ||
			echo "    note: neither 'ran on' lines nor a completed count tell where the jobs ran" >&2
	fi
}

# ---- test runners ----------------------------------------------------------------------

t_image_cargo_maelstrom() {
	cm_setup || return "$(cm_skip $?)"
	img_setup || return 1
	# The fixture's first directive, on the image: its layers, environment,
	# the test binaries' shared libraries (a busybox image has no libc).
	cat >cargo-maelstrom.toml <<TOML
[[directives]]
image = { name = "$IMG", use = ["layers", "environment"] }
include_shared_libraries = true
added_layers = [ { stubs = [ "/{proc,sys,tmp}/" ] } ]
mounts = [
    { type = "tmp", mount_point = "/tmp" },
    { type = "proc", mount_point = "/proc" },
    { type = "devices", devices = ["full", "null", "random", "urandom", "zero"] },
]
TOML
	cm --include 'name.equals(tests::adds_numbers) || name.equals(sandbox::tmp_is_writable) || name.equals(sandbox::proc_self_status_exists)'
	expect_eq "exit (stderr: $ERR)" 0 "$CODE" || { printf '%s\n' "$OUT" | tail -10 >&2; return 1; }
	expect_outcome tests::adds_numbers OK || return 1
	expect_outcome sandbox::tmp_is_writable OK || return 1
	expect_outcome sandbox::proc_self_status_exists OK || return 1
	grep -qF "\"$IMG\"" "$IMG_LOCK" ||
		fail "the project's $IMG_LOCK does not pin $IMG: $(cat "$IMG_LOCK" 2>&1)"
}

t_image_pytest_on_a_python_image() {
	pt_setup || return "$(pt_skip $?)"
	img_need_tools || return 1
	img_build_python "$SCRATCH/pyoci" 1 "$PT_PY" || return 1
	# The fixture's directives, with the first one on the image. The
	# interpreter is the image's (python3 on its PATH), not the host's.
	{
		cat <<TOML
[[directives]]
image = "oci:$SCRATCH/pyoci:1"
added_layers = [ { stubs = [ "/{proc,sys,tmp}/" ] } ]
mounts = [
    { type = "tmp", mount_point = "/tmp" },
    { type = "proc", mount_point = "/proc" },
    { type = "devices", devices = ["full", "null", "random", "urandom", "zero"] },
]
TOML
		# The rest of the fixture's file: what follows its first directive.
		awk 'n == 0 && /^\[\[directives\]\]/ { n = 1; next }
		     n == 1 && /^$/ { n = 2; next }
		     n == 2' maelstrom-pytest.toml
	} >toml.new && mv toml.new maelstrom-pytest.toml
	pt --ui simple -i "file.equals($PT_A) || node_id.equals($PT_O::test_skipif_false)"
	expect_eq "exit (stderr: $ERR)" 0 "$CODE" || { printf '%s\n' "$OUT" | tail -10 >&2; return 1; }
	expect_pt "$PT_A::test_add" OK || return 1
	expect_pt "$PT_A::TestDivision::test_exact" OK || return 1
	expect_pt "$PT_O::test_skipif_false" OK
}

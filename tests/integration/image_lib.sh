# Helpers for the container image tests and benchmark: test images built
# from files on this machine, and a private registry to pull them from.
#
# Images are OCI image layouts made with umoci from a busybox root
# (busybox-static's /bin/busybox and symlinks to it), one tar per layer
# added verbatim (`umoci raw add-layer`), so each layer holds exactly what
# the tests need, whiteouts included:
#   layer 1  bin/busybox and applet links, etc/gone, etc/keep, etc/mark
#            (the MARK given to img_build), data/old1, data/old2, the
#            usual mount points (proc/ sys/ tmp/ dev/ work/) and dev/ stubs
#   layer 2  etc/.wh.gone (a whiteout: etc/gone is deleted), etc/layer2
#   layer 3  data/.wh..wh..opq (an opaque directory: data/ shows only what
#            this layer puts there), data/new, work/here
#   layer 4+ extra/fileN (img_build's NLAYERS, at least 3)
# and a config with Env PATH=/bin, IMG_MARK=MARK, IMG_FROM=image and
# WorkingDir /work.
#
# The registry is Debian's docker-registry on a free loopback port, its
# storage in $SCRATCH; images are pushed with skopeo. Everything works
# rootless.
#
# Usage, inside a test function (its own subshell):
#   img_need_tools || return 1
#   img_build "$SCRATCH/oci" 1 first || return 1      # layout, tag, MARK [, NLAYERS]
#   img_registry_start || return 1                    # IMG_REG=127.0.0.1:PORT; EXIT trap
#   img_push "$SCRATCH/oci" 1 bb 1 || return 1        # -> docker://$IMG_REG/bb:1
#   img_registry_stop
# IMG_ON (an array, empty by default) prefixes the registry, curl and skopeo
# commands, e.g. (ip netns exec NS) to run them on a cluster's client host.

IMG_BUSYBOX=${BUSYBOX:-/bin/busybox}
IMG_APPLETS="sh cat ls echo env pwd test grep wc true false sleep id"
IMG_ON=()
IMG_REG=""
IMG_REG_HOST=127.0.0.1   # the address the registry listens on (any of 127/8)
IMG_REG_PID=""
IMG_REG_DIR=""

# img_need_tools: fails naming the first missing tool and its Debian package.
img_need_tools() {
	local t pkg
	for t in umoci:umoci skopeo:skopeo docker-registry:docker-registry curl:curl jq:jq; do
		pkg=${t#*:}
		t=${t%%:*}
		command -v "$t" >/dev/null ||
			{ fail "$t is needed for the image tests (apt-get install $pkg)"; return 1; }
	done
	file -L "$IMG_BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
		{ fail "$IMG_BUSYBOX is not a static busybox (apt-get install busybox-static)"; return 1; }
}

# img_tar STAGE OUT: a layer tar of everything in STAGE, names relative
# ("bin/busybox"), owned by 0:0.
img_tar() {
	local stage=$1 out=$2 names
	names=$(cd "$stage" && ls -A)
	# shellcheck disable=SC2086 # the names are ours, without blanks
	tar --numeric-owner --owner=0 --group=0 -C "$stage" -cf "$out" $names ||
		{ fail "cannot tar $stage"; return 1; }
}

# img_layer_base STAGE MARK
img_layer_base() {
	local s=$1 mark=$2 a
	mkdir -p "$s/bin" "$s/etc" "$s/data" "$s/proc" "$s/sys" "$s/tmp" "$s/dev" "$s/work" || return 1
	cp "$IMG_BUSYBOX" "$s/bin/busybox" || return 1
	for a in $IMG_APPLETS; do
		ln -s busybox "$s/bin/$a" || return 1
	done
	for a in full null random urandom zero tty; do
		: >"$s/dev/$a" || return 1
	done
	echo gone >"$s/etc/gone"
	echo keep >"$s/etc/keep"
	echo "$mark" >"$s/etc/mark"
	echo old1 >"$s/data/old1"
	echo old2 >"$s/data/old2"
	chmod 1777 "$s/tmp"
}

# img_build LAYOUT TAG MARK [NLAYERS]: the image described at the top, as
# LAYOUT:TAG (the layout is created when missing).
img_build() {
	local layout=$1 tag=$2 mark=$3 nlayers=${4:-3} work i
	[ "$nlayers" -ge 3 ] || { fail "img_build: NLAYERS must be at least 3"; return 1; }
	work=$(mktemp -d "${SCRATCH:-${TMPDIR:-/tmp}}/img-build.XXXXXX") || return 1
	mkdir -p "$work/l1" "$work/l2/etc" "$work/l3/data" "$work/l3/work" || return 1
	img_layer_base "$work/l1" "$mark" || { fail "cannot fill the base layer"; return 1; }
	: >"$work/l2/etc/.wh.gone"
	echo two >"$work/l2/etc/layer2"
	: >"$work/l3/data/.wh..wh..opq"
	echo new >"$work/l3/data/new"
	echo here >"$work/l3/work/here"
	for ((i = 4; i <= nlayers; i++)); do
		mkdir -p "$work/l$i/extra"
		echo "layer $i of $mark" >"$work/l$i/extra/file$i"
	done
	local stages=()
	for ((i = 1; i <= nlayers; i++)); do stages+=("$work/l$i"); done
	img_pack "$layout" "$tag" "$work" "${stages[@]}" -- --config.env PATH=/bin \
		--config.env "IMG_MARK=$mark" --config.env IMG_FROM=image --config.workingdir /work
	local rc=$?
	chmod -R u+w "$work" 2>/dev/null
	rm -rf "$work"
	return "$rc"
}

# img_pack LAYOUT TAG WORK STAGE... -- CONFIG_ARGS...: makes LAYOUT:TAG (the
# layout is created when missing) with one layer per STAGE directory,
# bottom first, then applies umoci config's CONFIG_ARGS. WORK: a scratch dir.
img_pack() {
	local layout=$1 tag=$2 work=$3 i=0 stage
	shift 3
	if [ ! -e "$layout/index.json" ]; then
		umoci init --layout "$layout" >"$work/log" 2>&1 ||
			{ fail "umoci init: $(cat "$work/log")"; return 1; }
	fi
	umoci new --image "$layout:$tag" >"$work/log" 2>&1 ||
		{ fail "umoci new: $(cat "$work/log")"; return 1; }
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		stage=$1
		shift
		i=$((i + 1))
		img_tar "$stage" "$work/layer$i.tar" || return 1
		umoci raw add-layer --image "$layout:$tag" "$work/layer$i.tar" >"$work/log" 2>&1 ||
			{ fail "umoci raw add-layer (layer $i): $(cat "$work/log")"; return 1; }
		rm -f "$work/layer$i.tar"
	done
	shift
	umoci config --image "$layout:$tag" "$@" >"$work/log" 2>&1 ||
		{ fail "umoci config: $(cat "$work/log")"; return 1; }
	umoci gc --layout "$layout" >/dev/null 2>&1
	return 0
}

# img_copy STAGE PATH...: copies each host PATH into STAGE at the same path
# (symlinks followed for the named paths, kept inside directories).
img_copy() {
	local stage=$1 p
	shift
	for p in "$@"; do
		mkdir -p "$stage$(dirname "$p")" || return 1
		cp -a "$(readlink -f "$p")" "$stage$p" 2>/dev/null || cp -rL "$p" "$stage$p" || return 1
	done
}

# img_build_python LAYOUT TAG PYTHON: an image with busybox (layer 1, as
# img_build's) and, in layer 2, the host's PYTHON (an interpreter that
# imports pytest) as /usr/bin/python3: its standard library (without its
# tests, IDLE, tkinter and build files), the site packages pytest imports,
# and the shared libraries all of them load. Env PATH=/usr/bin:/bin.
img_build_python() {
	local layout=$1 tag=$2 py=$3 work real stdlib m f lib
	work=$(mktemp -d "${SCRATCH:-${TMPDIR:-/tmp}}/img-build.XXXXXX") || return 1
	mkdir -p "$work/l1" "$work/l2/usr/bin" || return 1
	img_layer_base "$work/l1" python || { fail "cannot fill the base layer"; return 1; }
	real=$(readlink -f "$py")
	stdlib=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])') ||
		{ fail "$py cannot tell its standard library"; return 1; }
	cp "$real" "$work/l2/usr/bin/python3" || return 1
	mkdir -p "$work/l2$stdlib" || return 1
	tar -C "$stdlib" -cf - --exclude=./test --exclude=./idlelib --exclude=./tkinter \
		--exclude=./turtledemo --exclude=./ensurepip --exclude=./lib2to3 \
		--exclude=./pydoc_data --exclude='./config-*' --exclude=./site-packages \
		--exclude=./dist-packages . | tar -C "$work/l2$stdlib" -xf - ||
		{ fail "cannot copy $stdlib"; return 1; }
	# The top-level site packages `import pytest` loads (and packaging).
	m=$("$py" -c '
import os, sys, pytest
try:
    import packaging.version  # pytest loads it only for minversion checks
except ImportError:
    pass
roots = [p for p in sys.path if p.endswith(("dist-packages", "site-packages"))]
tops = set()
for mod in list(sys.modules.values()):
    f = getattr(mod, "__file__", None) or ""
    for r in roots:
        if f.startswith(r + "/"):
            tops.add(os.path.join(r, f[len(r) + 1:].split("/")[0]))
print(chr(10).join(sorted(tops)))') || { fail "$py cannot import pytest"; return 1; }
	# shellcheck disable=SC2086 # site package paths hold no blanks
	img_copy "$work/l2" $m || { fail "cannot copy the site packages"; return 1; }
	# Every shared library the interpreter and the extension modules load.
	for lib in $( { echo "$real"; find "$work/l2" -name '*.so*' -type f | sed "s|^$work/l2||"; } |
		while read -r f; do ldd "$f" 2>/dev/null; done |
		sed -n 's|.*=> \(/[^ ]*\) .*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p' | sort -u); do
		[ -e "$work/l2$lib" ] || img_copy "$work/l2" "$lib" || { fail "cannot copy $lib"; return 1; }
	done
	img_pack "$layout" "$tag" "$work" "$work/l1" "$work/l2" -- \
		--config.env PATH=/usr/bin:/bin --config.env IMG_FROM=image
	local rc=$?
	chmod -R u+w "$work" 2>/dev/null
	rm -rf "$work"
	return "$rc"
}

# img_layer_digests LAYOUT TAG: the image's layer blob digests (sha256:HEX),
# bottom first.
img_layer_digests() {
	local layout=$1 tag=$2 m
	m=$(jq -r --arg t "$tag" \
		'.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .digest' \
		"$layout/index.json") || return 1
	jq -r '.layers[].digest' "$layout/blobs/sha256/${m#sha256:}"
}

# img_free_port: a TCP port free on $IMG_REG_HOST (of IMG_ON's network) right now.
img_free_port() {
	"${IMG_ON[@]}" /usr/bin/python3 -c \
		'import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 0)); print(s.getsockname()[1])' \
		"$IMG_REG_HOST"
}

# img_registry_start [STORAGE]: docker-registry on a free port of
# $IMG_REG_HOST, storing under STORAGE (default $SCRATCH/registry); sets IMG_REG,
# IMG_REG_PID and an EXIT trap (img_down) that stops it.
img_registry_start() {
	local storage=${1:-$SCRATCH/registry} port i
	IMG_REG_DIR=$storage
	mkdir -p "$storage/data" || { fail "cannot make $storage"; return 1; }
	port=$(img_free_port) || { fail "cannot find a free port"; return 1; }
	cat >"$storage/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $storage/data
  delete:
    enabled: true
http:
  addr: $IMG_REG_HOST:$port
YAML
	trap 'img_down' EXIT
	trap 'exit 130' INT TERM
	"${IMG_ON[@]}" docker-registry serve "$storage/config.yml" >"$storage/log" 2>&1 </dev/null &
	IMG_REG_PID=$!
	IMG_REG=$IMG_REG_HOST:$port
	for i in $(seq 200); do
		"${IMG_ON[@]}" curl -s -o /dev/null -f "http://$IMG_REG/v2/" && return 0
		kill -0 "$IMG_REG_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "docker-registry did not answer on $IMG_REG: $(tail -3 "$storage/log")"
}

# img_registry_stop: stops the registry (SIGTERM, then SIGKILL) and waits
# until its port refuses connections. Safe when none runs.
img_registry_stop() {
	[ -n "$IMG_REG_PID" ] || return 0
	local i
	kill -TERM "$IMG_REG_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$IMG_REG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$IMG_REG_PID" 2>/dev/null
	wait "$IMG_REG_PID" 2>/dev/null
	IMG_REG_PID=""
}

# img_down: the EXIT trap: stops the registry (and img_tamper_start's
# stand-in), then tears down a cluster
# when cluster_lib.sh started one. Keeps the exit status.
img_down() {
	local rc=$?
	trap - EXIT
	if [ "$rc" -ne 0 ] && [ -n "$IMG_REG_DIR" ] && [ -s "$IMG_REG_DIR/log" ]; then
		echo "    --- last lines of the registry's log:" >&2
		tail -5 "$IMG_REG_DIR/log" | sed 's/^/      /' >&2
	fi
	img_registry_stop
	if [ -n "${IMG_TAMPER_PID:-}" ]; then
		kill -TERM "$IMG_TAMPER_PID" 2>/dev/null
		wait "$IMG_TAMPER_PID" 2>/dev/null
	fi
	if [ -n "${CL_MODE:-}" ] && declare -F cluster_down >/dev/null; then
		(exit "$rc")
		cluster_down
	fi
	return "$rc"
}

# img_tamper_start: a registry stand-in (python3's http.server) on another
# free loopback port, passing every request on to $IMG_REG but adding a
# blank line to each manifest it serves (still valid JSON, another
# digest); sets IMG_TAMPER (its address) and IMG_TAMPER_PID. img_down
# stops it.
img_tamper_start() {
	local port i
	port=$(img_free_port) || { fail "cannot find a free port"; return 1; }
	"${IMG_ON[@]}" /usr/bin/python3 -c '
import http.server, sys, urllib.request, urllib.error
upstream, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def relay(self, send_body):
        req = urllib.request.Request("http://" + upstream + self.path, method=self.command,
                                     headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
        try:
            r = urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            r = e
        body = r.read()
        if "/manifests/" in self.path and r.status == 200:
            body += b"\n"
        self.send_response(r.status)
        for k, v in r.headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
    def do_GET(self): self.relay(True)
    def do_HEAD(self): self.relay(False)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()' "$IMG_REG" "$port" \
		>"$IMG_REG_DIR/tamper.log" 2>&1 </dev/null &
	IMG_TAMPER_PID=$!
	IMG_TAMPER=127.0.0.1:$port
	for i in $(seq 200); do
		"${IMG_ON[@]}" curl -s -o /dev/null -f "http://$IMG_TAMPER/v2/" && return 0
		kill -0 "$IMG_TAMPER_PID" 2>/dev/null || break
		sleep 0.05
	done
	fail "the tampering stand-in did not answer on $IMG_TAMPER: $(tail -3 "$IMG_REG_DIR/tamper.log")"
}

# img_push LAYOUT TAG NAME NEWTAG: copies LAYOUT:TAG to
# docker://$IMG_REG/NAME:NEWTAG.
img_push() {
	local out
	out=$("${IMG_ON[@]}" skopeo --insecure-policy copy --quiet --dest-tls-verify=false \
		"oci:$1:$2" "docker://$IMG_REG/$3:$4" 2>&1) ||
		{ fail "skopeo copy oci:$1:$2 docker://$IMG_REG/$3:$4: $out"; return 1; }
}

# img_registry_blob DIGEST: the file holding the blob in the registry's storage.
img_registry_blob() {
	local hex=${1#sha256:}
	echo "$IMG_REG_DIR/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# img_job IMAGE SCRIPT [EXTRA_FIELDS]: a job running `sh -c SCRIPT` in IMAGE
# (a string image: `use` of layers and environment).
img_job() {
	local image=$1 script=$2 extra=${3:-}
	script=${script//\\/\\\\}
	script=${script//\"/\\\"}
	printf '{ "image": "%s", "program": "/bin/sh", "arguments": ["-c", "%s"]%s }\n' \
		"$image" "$script" "${extra:+, $extra}"
}

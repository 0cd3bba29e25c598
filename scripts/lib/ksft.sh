# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The kselftests built and installed as a kernel developer does, from
# inside a kernel tree with that tree's harness, lib.mk and runner, for
# scripts/check-build and scripts/check-debug, sourced (after lib/tree.sh)
# as
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/ksft.sh"

# ksft_tree ROOT SRC TREE: TREE (emptied first) becomes a kernel tree in
# which ROOT's kselftests build: SRC hard-linked (a kernel source, or the
# parts of one the kselftest framework needs: tools/testing/selftests and
# scripts/subarch.include), evcore's headers as drivers/misc/evcore/include
# (where selftests/mypoll/Makefile finds the uapi headers), and ROOT's
# selftests/mypoll as tools/testing/selftests/mypoll. Nothing in SRC is
# written to.
ksft_tree() {
	local root=$1 src=$2 t=$3 f

	rm -rf "$t"
	cp -al "$src" "$t" || return 1
	mkdir -p "$t/drivers/misc/evcore"
	cp -a "$root/include" "$t/drivers/misc/evcore/" || return 1
	rm -rf "$t/tools/testing/selftests/mypoll"
	mkdir "$t/tools/testing/selftests/mypoll"
	tree_files "$root" | while IFS= read -r f; do
		case "$f" in
		selftests/mypoll/*)
			cp "$root/$f" "$t/tools/testing/selftests/mypoll/" ;;
		esac
	done
}

# ksft_install TREE DIR LOG: `make -C tools/testing/selftests TARGETS=mypoll
# install` in TREE into DIR, its output in LOG.
ksft_install() {
	rm -rf "$2"
	make -C "$1/tools/testing/selftests" TARGETS=mypoll install \
		INSTALL_PATH="$2" > "$3" 2>&1
}

# ksft_unlisted ROOT DIR: the tests of ROOT (selftests/mypoll/*_test.c)
# that DIR/kselftest-list.txt does not list, and the entries it has that
# are no such test, one per line; nothing when the two agree.
ksft_unlisted() {
	local want got

	want=$(tree_files "$1" | sed -n 's|^selftests/mypoll/\(.*_test\)\.c$|\1|p' |
		sort)
	got=$(sed -n 's/^mypoll://p' "$2/kselftest-list.txt" 2> /dev/null |
		sort)
	[ -n "$want" ] || echo "(no test in selftests/mypoll)"
	comm -3 <(echo "$want") <(echo "$got") |
		sed 's/^\t/listed, not a test: /; t; s/^/not listed: /'
}

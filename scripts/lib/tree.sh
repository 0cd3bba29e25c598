# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# The files of a work tree, for scripts/lint and scripts/check-build,
# sourced as
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/tree.sh"

# tree_files DIR: the work tree DIR's files, one per line, relative to DIR
# and sorted: in a git checkout the tracked ones and the untracked ones
# .gitignore does not list, as they are in the work tree (a tracked file
# deleted there is not listed); elsewhere every file but build/ and .git.
tree_files() {
	local dir=$1 f

	if git -C "$dir" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
		git -C "$dir" ls-files -c -o --exclude-standard | sort -u |
		while IFS= read -r f; do
			[ ! -f "$dir/$f" ] || echo "$f"
		done
	else
		(cd "$dir" && find . \( -path ./build -o -path ./.git \) -prune \
			-o -type f -print) | sed 's|^\./||' | sort
	fi
}

# tree_copy DIR DEST: DEST (emptied first) gets a copy of the work tree
# DIR without VCS data and build products: the files tree_files lists in a
# git checkout; elsewhere everything but build/ and what .gitignore lists.
tree_copy() {
	local dir=$1 dest=$2 f

	rm -rf "$dest"
	mkdir -p "$dest"
	if git -C "$dir" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
		tree_files "$dir" | while IFS= read -r f; do
			mkdir -p "$dest/$(dirname "$f")"
			cp -p "$dir/$f" "$dest/$f"
		done
	else
		(cd "$dir" && tar --exclude=./build --exclude-vcs \
			--exclude-vcs-ignores -cf - .) | tar -C "$dest" -xf -
	fi
}

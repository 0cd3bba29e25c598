# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# apt on a private state directory, for scripts/kernel-fetch and
# scripts/headers-fetch, sourced as
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

# apt_lock APTDIR: until the script exits, hold the lock that makes the
# runs on one private apt directory take turns. apt's own locks are off
# (Debug::NoLocking), and two updates into one lists/ at once leave an
# empty index that the stamp then calls fresh.
apt_lock() {
	exec 9> "$1/.lock"
	flock 9
}

# apt_refresh WHAT STAMP MAX_AGE MIRROR OPTION...: refresh the package index
# WHAT names (apt-get OPTION... update) when STAMP, touched by the last
# refresh that succeeded, is MAX_AGE seconds old or missing. When the
# refresh fails the cached index serves if there is one; without one the
# script exits 1. Messages go to stderr through the caller's log().
apt_refresh() {
	local what=$1 stamp=$2 max_age=$3 mirror=$4 age

	shift 4
	age=$max_age
	[ ! -f "$stamp" ] || age=$(($(date +%s) - $(stat -c %Y "$stamp")))
	[ "$age" -ge "$max_age" ] || return 0
	log "refreshing the $what package index"
	if apt-get "$@" -qq update >&2; then
		touch "$stamp"
	elif [ -f "$stamp" ]; then
		log "index refresh failed, using the cached index"
	else
		log "cannot fetch the $what package index from $mirror"
		exit 1
	fi
}

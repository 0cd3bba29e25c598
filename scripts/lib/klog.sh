# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# What in a guest's kernel log reports a problem, for scripts/vm-run (any
# of it fails a run: `make check`, `make demo`, `make bench`) and
# scripts/check-debug (one result per checker), sourced as
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/klog.sh"
#
# The patterns are extended regular expressions (grep -E) matched against
# the kernel log, one report line at a time.

# The variables are for the scripts that source this file.
# shellcheck disable=SC2034

# Each checker's reports, by their first line. lockdep (PROVE_LOCKING,
# PROVE_RCU) and DEBUG_ATOMIC_SLEEP:
klog_lockdep='possible circular locking|inconsistent lock state|possible recursive locking|irq lock inversion|lock held when returning|bad unlock balance|held lock freed|suspicious RCU usage|Invalid wait context|BUG: spinlock|BUG: sleeping function called|BUG: scheduling while atomic|BUG: using smp_processor_id|INFO: trying to register non-static key|turning off the locking correctness validator'
klog_kasan='BUG: KASAN'
klog_ubsan='UBSAN:'
klog_odebug='ODEBUG:'
klog_kcsan='BUG: KCSAN:'
# Any other report: warnings, BUGs, oopses, list corruption, RCU stalls
# ("detected stalls", "self-detected stall", "detected expedited stalls"),
# soft and hard lockups, hung tasks, panics.
klog_other='WARNING:|BUG:|Oops|general protection|kernel BUG at|list_(add|del) corruption|detected (expedited )?stall|soft lockup|hard LOCKUP|blocked for more than|Kernel panic'
# Any other line of a checker's, and those of theirs that report nothing
# wrong (boot messages).
klog_checkers='INFO: possible|lockdep|KASAN|UBSAN|kmemleak|DEBUG_OBJECTS|ODEBUG'
klog_benign='kmemleak: Kernel memory leak detector (initialized|disabled)|kmemleak: Automatic memory scanning thread started|ODEBUG: selftest passed|RCU lockdep checking is enabled'
# A stack frame ("[  208.05]  ? lockdep_hardirqs_on+0x7c/0x100"), as in
# the dumps of fault injection: it names a checker's function, but a report
# is found by its first line, never by its frames.
klog_benign="$klog_benign|\\] +(\\? )?[A-Za-z0-9_.]+\\+0x[0-9a-f]+/0x[0-9a-f]+"
klog_bad="$klog_lockdep|$klog_kasan|$klog_ubsan|$klog_odebug|$klog_other|$klog_checkers"

# The taint flags loading our modules sets: O (out-of-tree), E (unsigned)
# and N (test). Any other (W warning, D oops, B bad page, L soft lockup,
# ...) says something went wrong.
klog_taint_modules=$(((1 << 12) | (1 << 13) | (1 << 18)))

# klog_problems FILE: FILE's lines that report a problem.
klog_problems() {
	grep -E "$klog_bad" "$1" | grep -v -E "$klog_benign" || true
}

# klog_first PATTERN FILE [EXCLUDE]: the number of FILE's first line that
# matches PATTERN, is not benign and does not match EXCLUDE; nothing when
# there is none.
klog_first() {
	grep -n -E "$1" "$2" | grep -v -E "$klog_benign${3:+|$3}" |
		sed -n '1s/:.*//p' || true
}

# klog_kcsan_reports [--full] FILE: one "ours|theirs<TAB>TITLE" line per
# KCSAN report in FILE (TITLE as "data-race in f / g"). A report is ours
# when one of the racing accesses is in evcore, mypoll_misc or their test
# modules (the first frame under "read/write ... by ...:"), or when both
# stacks pass through them (two of our paths racing inside a kernel
# helper; a report without access lines is ours when any frame is). A
# race between two kernel functions that one of our threads
# merely called into, such as the hrtimer sleeper under usleep_range(), is
# the kernel's. With --full, the whole text of each report of ours
# instead.
klog_kcsan_reports() {
	local full=0

	if [ "$1" = --full ]; then
		full=1
		shift
	fi
	sed -E 's/^\[ *[0-9.]+\] //' "$1" | awk -v full="$full" '
	function flush() {
		if (!inside)
			return
		ours = top || stacks >= 2 || (!headers && any)
		if (!full)
			print (ours ? "ours" : "theirs") "\t" title
		else if (ours)
			printf "%s", text
		inside = 0
	}
	function mine(l) {
		return l ~ /\[(evcore[a-z_]*|mypoll_misc)\]/ ||
		       l ~ /(^|[ \t])(evcore|mypoll)_[A-Za-z0-9_.]*\+0x/
	}
	/BUG: KCSAN: / {
		flush()
		inside = 1
		top = stacks = first = in_stack = headers = any = 0
		title = $0
		sub(/.*BUG: KCSAN: /, "", title)
		text = $0 "\n"
		next
	}
	!inside { next }
	/^=+$/ { flush(); next }
	{
		text = text $0 "\n"
		any = any || mine($0)
		if ($0 ~ / (to|from) 0x[0-9a-f]+ of [0-9]+ bytes by /) {
			first = 1
			in_stack = 1
			counted = 0
			headers++
			next
		}
		if ($0 ~ /^ *$/) {
			in_stack = 0
			next
		}
		if (!in_stack)
			next
		if (mine($0)) {
			if (first)
				top = 1
			if (!counted)
				stacks++
			counted = 1
		}
		first = 0
	}
	END { flush() }'
}

# klog_tainted VALUE: true when the taint VALUE (/proc/sys/kernel/tainted)
# has a flag besides the modules' own, or is not a number.
klog_tainted() {
	case "$1" in
	''|*[!0-9]*) return 0 ;;
	esac
	[ $(($1 & ~klog_taint_modules)) -ne 0 ]
}

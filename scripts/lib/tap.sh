# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
#
# TAP output for the scripts, sourced (never run) by each of them as
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/tap.sh"
#
# which works on the host, in the VM guest (virtme-ng shares the host's
# filesystem at the same paths) and on a machine the tree was copied to.
# Bash builtins, date and sed only; safe under set -euo pipefail.
#
# The results are numbered as they come; the counts are kept in tap_n,
# tap_passed, tap_failed and tap_skipped. Every line goes to stdout and,
# when tap_copy names a file, is appended to that file too; tap_comment's
# lines go to stdout only. When tap_progress is set, each result is also
# shown on stderr as "$tap_progress: LINE".

tap_n=0
tap_passed=0
tap_failed=0
tap_skipped=0
tap_copy=
tap_progress=
tap_stage_start=$(date +%s)
tap_stage_secs=0
tap_imported=0

# tap_emit LINE: one line of the stream.
tap_emit() {
	printf '%s\n' "$*"
	[ -z "$tap_copy" ] || printf '%s\n' "$*" >> "$tap_copy"
}

# tap_version: the stream's first line.
tap_version() {
	tap_emit "TAP version 13"
}

# tap_result STATUS DESCRIPTION [SKIP-REASON]: the next result. STATUS 0 or
# "ok" is a pass, anything else (a command's exit status, "not ok") a
# failure. With a SKIP-REASON a pass is a skip; a failure stays a failure.
tap_result() {
	local status=$1 desc=$2 skip=${3:-} line

	tap_n=$((tap_n + 1))
	if [ "$status" != 0 ] && [ "$status" != ok ]; then
		tap_failed=$((tap_failed + 1))
		line="not ok $tap_n - $desc"
	elif [ -n "$skip" ]; then
		tap_skipped=$((tap_skipped + 1))
		line="ok $tap_n - $desc # SKIP $skip"
	else
		tap_passed=$((tap_passed + 1))
		line="ok $tap_n - $desc"
	fi
	tap_emit "$line"
	[ -z "$tap_progress" ] || printf '%s: %s\n' "$tap_progress" "$line" >&2
}

# tap_test DESCRIPTION CMD...: a result that passes when CMD succeeds.
tap_test() {
	local desc=$1 status=0

	shift
	"$@" || status=$?
	tap_result "$status" "$desc"
}

# tap_note TEXT: a comment line.
tap_note() {
	tap_emit "# $*"
}

# tap_lines N: "1,N", or "1,$" for N "all": the sed address of the first
# N lines.
tap_lines() {
	if [ "$1" = all ]; then
		echo '1,$'
	else
		echo "1,$1"
	fi
}

# tap_notes INDENT N: the first N lines of stdin ("all": every line) as
# comments, each indented by INDENT after "# " (the details of a failure
# take "  "). Reads all of its input: a writer cut off early would fail
# its pipeline, and under pipefail the script.
tap_notes() {
	local indent=$1 line

	sed -n "$(tap_lines "$2")p" | while IFS= read -r line || [ -n "$line" ]; do
		tap_note "$indent$line"
	done
}

# tap_comment N: the first N lines of stdin ("all": every line) as
# comments on stdout only, never in tap_copy (the tests' own output).
# Reads all of its input, as tap_notes does.
tap_comment() {
	sed -n "$(tap_lines "$1")s/^/# /p"
}

# tap_time_start: start the clock tap_time reads.
tap_time_start() {
	tap_stage_start=$(date +%s)
}

# tap_time NAME: "# time: NAME Ns", the seconds since tap_time_start or the
# previous tap_time (also left in tap_stage_secs).
tap_time() {
	local now

	now=$(date +%s)
	tap_stage_secs=$((now - tap_stage_start))
	tap_note "time: $1 ${tap_stage_secs}s"
	tap_stage_start=$now
}

# tap_import [--skips-fail WHERE [--skip-ok PATTERN]...] [--indent INDENT]
# PREFIX FILE: the results of the TAP stream in FILE, renumbered, PREFIX
# before each description; the number of them in tap_imported. "# time:"
# comments are kept, and so are the comments right after a failure (its
# details, up to the next line that is not a comment): as they are, or
# with --indent as notes whose text is INDENT and the comment without its
# "#". With --skips-fail a skip is a failure, "DESC (skipped WHERE:
# REASON)": where every test can run, a skip hides a failure. A skip whose
# "DESC: REASON" matches a --skip-ok PATTERN (a shell pattern) stays a
# skip: one the kernel makes inevitable, named by the caller.
tap_import() {
	local skips_fail='' indent='' reindent=0 prefix file line desc skip
	local after_failure=0 pat allowed
	local -a skip_ok=()

	while [ $# -gt 2 ]; do
		case "$1" in
		--skips-fail) skips_fail=$2; shift 2 ;;
		--skip-ok) skip_ok+=("$2"); shift 2 ;;
		--indent) indent=$2; reindent=1; shift 2 ;;
		*) break ;;
		esac
	done
	prefix=$1
	file=$2
	tap_imported=0
	while IFS= read -r line; do
		case "$line" in
		"ok "[0-9]*|"not ok "[0-9]*)
			desc=$line
			if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (-\ )?(.*)$ ]]; then
				desc=${BASH_REMATCH[3]}
			fi
			after_failure=0
			if [[ $desc == *"# SKIP"* ]]; then
				skip=${desc#*# SKIP}
				skip=${skip# }
				skip=${skip:-no reason given}
				desc=${desc%% # SKIP*}
				allowed=0
				for pat in "${skip_ok[@]}"; do
					# shellcheck disable=SC2053 # a pattern
					[[ "$desc: $skip" != $pat ]] || allowed=1
				done
				if [ -n "$skips_fail" ] && [ "$allowed" = 0 ]; then
					tap_result 1 "$prefix$desc (skipped $skips_fail: $skip)"
					after_failure=1
				else
					tap_result ok "$prefix$desc" "$skip"
				fi
			elif [[ $line == "not ok "* ]]; then
				tap_result 1 "$prefix$desc"
				after_failure=1
			else
				tap_result ok "$prefix$desc"
			fi
			tap_imported=$((tap_imported + 1))
			;;
		"# time: "*)
			tap_emit "$line"
			;;
		"#"*)
			if [ "$after_failure" = 0 ]; then
				:
			elif [ "$reindent" = 1 ]; then
				tap_note "$indent${line#\#}"
			else
				tap_emit "$line"
			fi
			;;
		*)
			after_failure=0
			;;
		esac
	done < "$file"
}

# tap_plan: "1..N", N the number of results so far.
tap_plan() {
	tap_emit "1..$tap_n"
}

# tap_summary: "N passed, N failed", then ", N skipped" when some were.
tap_summary() {
	local s="$tap_passed passed, $tap_failed failed"

	[ "$tap_skipped" = 0 ] || s="$s, $tap_skipped skipped"
	printf '%s\n' "$s"
}

# tap_exit: exit 0 when no result failed, else 1.
tap_exit() {
	[ "$tap_failed" != 0 ] || exit 0
	exit 1
}

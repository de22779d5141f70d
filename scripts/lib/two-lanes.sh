# Sourced by scripts that run independent builds or fuzzers two at a time (the machine has two
# cores, and each of these jobs mostly uses one).
#
# two_lanes STEP COUNT: runs `STEP 0`, `STEP 2`, ... in one background lane and `STEP 1`,
# `STEP 3`, ... in another, each lane in order and going on after a failing step. The second
# lane's steps see TWO_LANES_LANE=1 (the first's 0), so that a caller can give them a target
# directory of their own. Returns non-zero if any step failed, once both lanes have ended.
two_lanes() {
    local step="$1" count="$2" lane pids=() status=0
    for lane in 0 1; do
        (
            export TWO_LANES_LANE="$lane"
            failed=0
            for ((i = lane; i < count; i += 2)); do
                "$step" "$i" || failed=1
            done
            exit "$failed"
        ) &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || status=1
    done
    return "$status"
}

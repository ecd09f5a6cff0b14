//! The event spec table (Go's `tracev2.Specs()`): one row per wire event type.
//!
//! Each trace version reads a prefix of this table for *names* (error messages), but Go's
//! batch decoder (`readTimedBaseEvent`) always uses the whole table to know how many
//! arguments an event has, so we do too. Argument positions count the timestamp delta as
//! argument 0, as Go does; decoded events drop it, so a position `i` is `args[i-1]`.

#[derive(Clone, Copy, Debug)]
pub struct EventSpec {
    pub name: &'static str,
    /// Argument names, timestamp delta first for timed events.
    pub args: &'static [&'static str],
    /// Positions (in `args`) of stack IDs; the first is the event's own stack.
    pub stack_ids: &'static [usize],
    /// Positions (in `args`) of string IDs.
    pub string_ids: &'static [usize],
    /// For an End/Active event, the Begin event of its range (0 = none).
    pub start_ev: u8,
    pub is_timed: bool,
    pub experiment: u8,
}

const fn sp(name: &'static str, args: &'static [&'static str]) -> EventSpec {
    EventSpec {
        name,
        args,
        stack_ids: &[],
        string_ids: &[],
        start_ev: 0,
        is_timed: false,
        experiment: 0,
    }
}

const fn timed(name: &'static str, args: &'static [&'static str]) -> EventSpec {
    EventSpec {
        is_timed: true,
        ..sp(name, args)
    }
}

const fn stk(mut s: EventSpec, ids: &'static [usize]) -> EventSpec {
    s.stack_ids = ids;
    s
}

const fn strs(mut s: EventSpec, ids: &'static [usize]) -> EventSpec {
    s.string_ids = ids;
    s
}

const fn starts(mut s: EventSpec, ev: u8) -> EventSpec {
    s.start_ev = ev;
    s
}

const fn exp(mut s: EventSpec) -> EventSpec {
    s.experiment = EXP_ALLOC_FREE;
    s
}

pub const EV_NONE: u8 = 0;
pub const EV_EVENT_BATCH: u8 = 1;
pub const EV_STACKS: u8 = 2;
pub const EV_STACK: u8 = 3;
pub const EV_STRINGS: u8 = 4;
pub const EV_STRING: u8 = 5;
pub const EV_CPU_SAMPLES: u8 = 6;
pub const EV_CPU_SAMPLE: u8 = 7;
pub const EV_FREQUENCY: u8 = 8;
pub const EV_PROCS_CHANGE: u8 = 9;
pub const EV_PROC_START: u8 = 10;
pub const EV_PROC_STOP: u8 = 11;
pub const EV_PROC_STEAL: u8 = 12;
pub const EV_PROC_STATUS: u8 = 13;
pub const EV_GO_CREATE: u8 = 14;
pub const EV_GO_CREATE_SYSCALL: u8 = 15;
pub const EV_GO_START: u8 = 16;
pub const EV_GO_DESTROY: u8 = 17;
pub const EV_GO_DESTROY_SYSCALL: u8 = 18;
pub const EV_GO_STOP: u8 = 19;
pub const EV_GO_BLOCK: u8 = 20;
pub const EV_GO_UNBLOCK: u8 = 21;
pub const EV_GO_SYSCALL_BEGIN: u8 = 22;
pub const EV_GO_SYSCALL_END: u8 = 23;
pub const EV_GO_SYSCALL_END_BLOCKED: u8 = 24;
pub const EV_GO_STATUS: u8 = 25;
pub const EV_STW_BEGIN: u8 = 26;
pub const EV_STW_END: u8 = 27;
pub const EV_GC_ACTIVE: u8 = 28;
pub const EV_GC_BEGIN: u8 = 29;
pub const EV_GC_END: u8 = 30;
pub const EV_GC_SWEEP_ACTIVE: u8 = 31;
pub const EV_GC_SWEEP_BEGIN: u8 = 32;
pub const EV_GC_SWEEP_END: u8 = 33;
pub const EV_GC_MARK_ASSIST_ACTIVE: u8 = 34;
pub const EV_GC_MARK_ASSIST_BEGIN: u8 = 35;
pub const EV_GC_MARK_ASSIST_END: u8 = 36;
pub const EV_HEAP_ALLOC: u8 = 37;
pub const EV_HEAP_GOAL: u8 = 38;
pub const EV_GO_LABEL: u8 = 39;
pub const EV_USER_TASK_BEGIN: u8 = 40;
pub const EV_USER_TASK_END: u8 = 41;
pub const EV_USER_REGION_BEGIN: u8 = 42;
pub const EV_USER_REGION_END: u8 = 43;
pub const EV_USER_LOG: u8 = 44;
pub const EV_GO_SWITCH: u8 = 45;
pub const EV_GO_SWITCH_DESTROY: u8 = 46;
pub const EV_GO_CREATE_BLOCKED: u8 = 47;
pub const EV_GO_STATUS_STACK: u8 = 48;
pub const EV_EXPERIMENTAL_BATCH: u8 = 49;
pub const EV_SYNC: u8 = 50;
pub const EV_CLOCK_SNAPSHOT: u8 = 51;
pub const EV_END_OF_GENERATION: u8 = 52;

/// Last non-experimental event type slot; experimental types are `MAX_EVENT+1..MAX_EXPERIMENTAL_EVENT`.
pub const MAX_EVENT: u8 = 127;
pub const EV_SPAN: u8 = 128;
pub const EV_SPAN_ALLOC: u8 = 129;
pub const EV_SPAN_FREE: u8 = 130;
pub const EV_HEAP_OBJECT: u8 = 131;
pub const EV_HEAP_OBJECT_ALLOC: u8 = 132;
pub const EV_HEAP_OBJECT_FREE: u8 = 133;
pub const EV_GOROUTINE_STACK: u8 = 134;
pub const EV_GOROUTINE_STACK_ALLOC: u8 = 135;
pub const EV_GOROUTINE_STACK_FREE: u8 = 136;
pub const MAX_EXPERIMENTAL_EVENT: u8 = 137;

/// Not a wire type: marks the synthetic Sync events of the reader.
pub const EV_SYNC_EVENT: u8 = 255;

pub const EXP_ALLOC_FREE: u8 = 1;
pub const EXPERIMENT_NAMES: [&str; 2] = ["None", "AllocFree"];

const EMPTY: EventSpec = sp("", &[]);

/// The whole table (Go 1.26 format), indexed by wire type.
pub static SPECS: [EventSpec; MAX_EXPERIMENTAL_EVENT as usize] = {
    let mut t = [EMPTY; MAX_EXPERIMENTAL_EVENT as usize];
    t[EV_EVENT_BATCH as usize] = sp("EventBatch", &["gen", "m", "time", "size"]);
    t[EV_STACKS as usize] = sp("Stacks", &[]);
    t[EV_STACK as usize] = sp("Stack", &["id", "nframes"]);
    t[EV_STRINGS as usize] = sp("Strings", &[]);
    t[EV_STRING as usize] = sp("String", &["id"]);
    t[EV_CPU_SAMPLES as usize] = sp("CPUSamples", &[]);
    t[EV_CPU_SAMPLE as usize] = stk(sp("CPUSample", &["time", "m", "p", "g", "stack"]), &[4]);
    t[EV_FREQUENCY as usize] = sp("Frequency", &["freq"]);
    t[EV_EXPERIMENTAL_BATCH as usize] = sp("ExperimentalBatch", &["exp", "gen", "m", "time"]);
    t[EV_SYNC as usize] = sp("Sync", &[]);
    t[EV_END_OF_GENERATION as usize] = sp("EndOfGeneration", &[]);

    t[EV_PROCS_CHANGE as usize] = stk(timed("ProcsChange", &["dt", "procs_value", "stack"]), &[2]);
    t[EV_PROC_START as usize] = timed("ProcStart", &["dt", "p", "p_seq"]);
    t[EV_PROC_STOP as usize] = timed("ProcStop", &["dt"]);
    t[EV_PROC_STEAL as usize] = timed("ProcSteal", &["dt", "p", "p_seq", "m"]);
    t[EV_PROC_STATUS as usize] = timed("ProcStatus", &["dt", "p", "pstatus"]);
    t[EV_GO_CREATE as usize] = stk(
        timed("GoCreate", &["dt", "new_g", "new_stack", "stack"]),
        &[3, 2],
    );
    t[EV_GO_CREATE_SYSCALL as usize] = timed("GoCreateSyscall", &["dt", "new_g"]);
    t[EV_GO_START as usize] = timed("GoStart", &["dt", "g", "g_seq"]);
    t[EV_GO_DESTROY as usize] = timed("GoDestroy", &["dt"]);
    t[EV_GO_DESTROY_SYSCALL as usize] = timed("GoDestroySyscall", &["dt"]);
    t[EV_GO_STOP as usize] = strs(
        stk(timed("GoStop", &["dt", "reason_string", "stack"]), &[2]),
        &[1],
    );
    t[EV_GO_BLOCK as usize] = strs(
        stk(timed("GoBlock", &["dt", "reason_string", "stack"]), &[2]),
        &[1],
    );
    t[EV_GO_UNBLOCK as usize] = stk(timed("GoUnblock", &["dt", "g", "g_seq", "stack"]), &[3]);
    t[EV_GO_SYSCALL_BEGIN as usize] = stk(timed("GoSyscallBegin", &["dt", "p_seq", "stack"]), &[2]);
    t[EV_GO_SYSCALL_END as usize] = starts(timed("GoSyscallEnd", &["dt"]), EV_GO_SYSCALL_BEGIN);
    t[EV_GO_SYSCALL_END_BLOCKED as usize] =
        starts(timed("GoSyscallEndBlocked", &["dt"]), EV_GO_SYSCALL_BEGIN);
    t[EV_GO_STATUS as usize] = timed("GoStatus", &["dt", "g", "m", "gstatus"]);
    t[EV_STW_BEGIN as usize] = strs(
        stk(timed("STWBegin", &["dt", "kind_string", "stack"]), &[2]),
        &[1],
    );
    t[EV_STW_END as usize] = starts(timed("STWEnd", &["dt"]), EV_STW_BEGIN);
    t[EV_GC_ACTIVE as usize] = starts(timed("GCActive", &["dt", "gc_seq"]), EV_GC_BEGIN);
    t[EV_GC_BEGIN as usize] = stk(timed("GCBegin", &["dt", "gc_seq", "stack"]), &[2]);
    t[EV_GC_END as usize] = starts(timed("GCEnd", &["dt", "gc_seq"]), EV_GC_BEGIN);
    t[EV_GC_SWEEP_ACTIVE as usize] =
        starts(timed("GCSweepActive", &["dt", "p"]), EV_GC_SWEEP_BEGIN);
    t[EV_GC_SWEEP_BEGIN as usize] = stk(timed("GCSweepBegin", &["dt", "stack"]), &[1]);
    t[EV_GC_SWEEP_END as usize] = starts(
        timed("GCSweepEnd", &["dt", "swept_value", "reclaimed_value"]),
        EV_GC_SWEEP_BEGIN,
    );
    t[EV_GC_MARK_ASSIST_ACTIVE as usize] = starts(
        timed("GCMarkAssistActive", &["dt", "g"]),
        EV_GC_MARK_ASSIST_BEGIN,
    );
    t[EV_GC_MARK_ASSIST_BEGIN as usize] = stk(timed("GCMarkAssistBegin", &["dt", "stack"]), &[1]);
    t[EV_GC_MARK_ASSIST_END as usize] =
        starts(timed("GCMarkAssistEnd", &["dt"]), EV_GC_MARK_ASSIST_BEGIN);
    t[EV_HEAP_ALLOC as usize] = timed("HeapAlloc", &["dt", "heapalloc_value"]);
    t[EV_HEAP_GOAL as usize] = timed("HeapGoal", &["dt", "heapgoal_value"]);
    t[EV_GO_LABEL as usize] = strs(timed("GoLabel", &["dt", "label_string"]), &[1]);
    t[EV_USER_TASK_BEGIN as usize] = strs(
        stk(
            timed(
                "UserTaskBegin",
                &["dt", "task", "parent_task", "name_string", "stack"],
            ),
            &[4],
        ),
        &[3],
    );
    t[EV_USER_TASK_END as usize] = stk(timed("UserTaskEnd", &["dt", "task", "stack"]), &[2]);
    t[EV_USER_REGION_BEGIN as usize] = strs(
        stk(
            timed("UserRegionBegin", &["dt", "task", "name_string", "stack"]),
            &[3],
        ),
        &[2],
    );
    t[EV_USER_REGION_END as usize] = starts(
        strs(
            stk(
                timed("UserRegionEnd", &["dt", "task", "name_string", "stack"]),
                &[3],
            ),
            &[2],
        ),
        EV_USER_REGION_BEGIN,
    );
    t[EV_USER_LOG as usize] = strs(
        stk(
            timed(
                "UserLog",
                &["dt", "task", "key_string", "value_string", "stack"],
            ),
            &[4],
        ),
        &[2, 3],
    );
    t[EV_GO_SWITCH as usize] = timed("GoSwitch", &["dt", "g", "g_seq"]);
    t[EV_GO_SWITCH_DESTROY as usize] = timed("GoSwitchDestroy", &["dt", "g", "g_seq"]);
    t[EV_GO_CREATE_BLOCKED as usize] = stk(
        timed("GoCreateBlocked", &["dt", "new_g", "new_stack", "stack"]),
        &[3, 2],
    );
    t[EV_GO_STATUS_STACK as usize] = stk(
        timed("GoStatusStack", &["dt", "g", "m", "gstatus", "stack"]),
        &[4],
    );
    t[EV_CLOCK_SNAPSHOT as usize] = timed("ClockSnapshot", &["dt", "mono", "sec", "nsec"]);

    t[EV_SPAN as usize] = exp(timed("Span", &["dt", "id", "npages_value", "kindclass"]));
    t[EV_SPAN_ALLOC as usize] = exp(timed(
        "SpanAlloc",
        &["dt", "id", "npages_value", "kindclass"],
    ));
    t[EV_SPAN_FREE as usize] = exp(timed("SpanFree", &["dt", "id"]));
    t[EV_HEAP_OBJECT as usize] = exp(timed("HeapObject", &["dt", "id", "type"]));
    t[EV_HEAP_OBJECT_ALLOC as usize] = exp(timed("HeapObjectAlloc", &["dt", "id", "type"]));
    t[EV_HEAP_OBJECT_FREE as usize] = exp(timed("HeapObjectFree", &["dt", "id"]));
    t[EV_GOROUTINE_STACK as usize] = exp(timed("GoroutineStack", &["dt", "id", "order"]));
    t[EV_GOROUTINE_STACK_ALLOC as usize] =
        exp(timed("GoroutineStackAlloc", &["dt", "id", "order"]));
    t[EV_GOROUTINE_STACK_FREE as usize] = exp(timed("GoroutineStackFree", &["dt", "id"]));
    t
};

/// How many leading rows of [`SPECS`] a trace version defines (for event names).
pub fn version_spec_len(ver: u32) -> usize {
    match ver {
        22 => EV_USER_LOG as usize + 1,
        23 => EV_EXPERIMENTAL_BATCH as usize + 1,
        25 => EV_CLOCK_SNAPSHOT as usize + 1,
        26 => SPECS.len(),
        _ => 0,
    }
}

/// Go's `Version.EventName`: the name used in error messages.
pub fn event_name(ver: u32, typ: u8) -> String {
    let n = version_spec_len(ver);
    if n == 0 {
        return "<v1 trace event type>".to_string();
    }
    if (typ as usize) < n && !SPECS[typ as usize].name.is_empty() {
        return SPECS[typ as usize].name.to_string();
    }
    format!("Invalid({typ})")
}

pub fn is_experimental(typ: u8) -> bool {
    typ > MAX_EVENT && typ < MAX_EXPERIMENTAL_EVENT
}

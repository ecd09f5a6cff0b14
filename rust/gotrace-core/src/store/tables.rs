//! Interned strings and stacks shared by all generations of a trace.

use rustc_hash::FxHashMap as HashMap;

/// Strings as one byte arena with offsets; ID 0 is the empty string.
/// Strings are raw bytes: Go does not require trace strings to be UTF-8.
#[derive(Debug, Clone)]
pub struct StringTable {
    pub bytes: Vec<u8>,
    /// `offsets[i]..offsets[i+1]` is string `i`; `offsets.len() == len() + 1`.
    pub offsets: Vec<u64>,
    index: HashMap<Box<[u8]>, u32>,
}

impl Default for StringTable {
    fn default() -> Self {
        StringTable {
            bytes: Vec::new(),
            offsets: vec![0, 0],
            index: HashMap::default(),
        }
    }
}

impl StringTable {
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    pub fn get(&self, id: u32) -> &[u8] {
        let i = id as usize;
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    pub fn intern(&mut self, s: &[u8]) -> u32 {
        if s.is_empty() {
            return 0;
        }
        if let Some(&id) = self.index.get(s) {
            return id;
        }
        let id = self.len() as u32;
        self.bytes.extend_from_slice(s);
        self.offsets.push(self.bytes.len() as u64);
        self.index.insert(s.into(), id);
        id
    }

    /// The strings after the first `have` (a copy, for [`StringTable::append`] on a
    /// replica that has those `have`).
    pub fn tail(&self, have: usize) -> (Vec<u8>, Vec<u64>) {
        let have = have.min(self.len());
        let from = self.offsets[have + 1..].to_vec();
        (self.bytes[self.offsets[have] as usize..].to_vec(), from)
    }

    /// Appends a [`StringTable::tail`] of the table this one replicates (IDs stay
    /// equal; the replica has no lookup index and must not intern).
    pub fn append(&mut self, (bytes, offsets): (Vec<u8>, Vec<u64>)) {
        self.bytes.extend_from_slice(&bytes);
        self.offsets.extend_from_slice(&offsets);
    }

    /// Drops the lookup index once parsing is done (it is only needed while interning).
    pub fn freeze(&mut self) {
        self.index = HashMap::default();
        self.bytes.shrink_to_fit();
        self.offsets.shrink_to_fit();
    }
}

/// One stack frame, strings interned in the trace's [`StringTable`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Frame {
    pub pc: u64,
    pub func: u32,
    pub file: u32,
    pub line: u64,
}

/// Stacks as lists of frame indices; stack 0 is the empty stack ("no stack").
#[derive(Debug, Clone)]
pub struct StackTable {
    pub frames: Vec<Frame>,
    /// Frame indices of all stacks, concatenated.
    pub stack_frames: Vec<u32>,
    /// `stack_offsets[i]..stack_offsets[i+1]` indexes `stack_frames` for stack `i`.
    pub stack_offsets: Vec<u32>,
    frame_index: HashMap<Frame, u32>,
    stack_index: HashMap<Box<[u32]>, u32>,
}

/// What [`StackTable::tail`] copies.
#[derive(Debug, Default)]
pub struct StackTail {
    frames: Vec<Frame>,
    stack_frames: Vec<u32>,
    stack_offsets: Vec<u32>,
}

impl Default for StackTable {
    fn default() -> Self {
        StackTable {
            frames: Vec::new(),
            stack_frames: Vec::new(),
            stack_offsets: vec![0, 0],
            frame_index: HashMap::default(),
            stack_index: HashMap::default(),
        }
    }
}

impl StackTable {
    pub fn len(&self) -> usize {
        self.stack_offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    #[inline]
    pub fn frames_of(&self, id: u32) -> &[u32] {
        let i = id as usize;
        &self.stack_frames[self.stack_offsets[i] as usize..self.stack_offsets[i + 1] as usize]
    }

    pub fn intern_frame(&mut self, f: Frame) -> u32 {
        if let Some(&i) = self.frame_index.get(&f) {
            return i;
        }
        let i = self.frames.len() as u32;
        self.frames.push(f);
        self.frame_index.insert(f, i);
        i
    }

    /// Interns a stack given as frame indices. An empty list is stack 0... unless the trace
    /// really has a stack with zero frames, which Go distinguishes from "no stack" (its top
    /// frame is absent either way, so we map both to 0).
    pub fn intern_stack(&mut self, frames: &[u32]) -> u32 {
        if frames.is_empty() {
            return 0;
        }
        if let Some(&i) = self.stack_index.get(frames) {
            return i;
        }
        let id = self.len() as u32;
        self.stack_frames.extend_from_slice(frames);
        self.stack_offsets.push(self.stack_frames.len() as u32);
        self.stack_index.insert(frames.into(), id);
        id
    }

    /// The frames after the first `frames` and the stacks after the first `stacks` (a
    /// copy, for [`StackTable::append`] on a replica that has those).
    pub fn tail(&self, frames: usize, stacks: usize) -> StackTail {
        let stacks = stacks.min(self.len());
        StackTail {
            frames: self.frames[frames.min(self.frames.len())..].to_vec(),
            stack_frames: self.stack_frames[self.stack_offsets[stacks] as usize..].to_vec(),
            stack_offsets: self.stack_offsets[stacks + 1..].to_vec(),
        }
    }

    /// Appends a [`StackTable::tail`] of the table this one replicates.
    pub fn append(&mut self, t: StackTail) {
        self.frames.extend_from_slice(&t.frames);
        self.stack_frames.extend_from_slice(&t.stack_frames);
        self.stack_offsets.extend_from_slice(&t.stack_offsets);
    }

    pub fn freeze(&mut self) {
        self.frame_index = HashMap::default();
        self.stack_index = HashMap::default();
        self.frames.shrink_to_fit();
        self.stack_frames.shrink_to_fit();
        self.stack_offsets.shrink_to_fit();
    }
}

//! Where a deserializer is in the input, as a list linked through the stack: nothing is
//! allocated until an error needs its `loc`.

use crate::validate::error::LocSegment;

/// Where a deserializer is, as a list linked through the stack (no allocation until an error).
#[derive(Clone, Copy)]
pub(super) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    pub(super) fn to_loc(self) -> Vec<LocSegment> {
        let mut loc = Vec::new();
        let mut current = &self;
        loop {
            match current {
                Path::Root => break,
                Path::Key(parent, key) => {
                    loc.push(LocSegment::from((*key).to_owned()));
                    current = parent;
                }
                Path::Index(parent, index) => {
                    loc.push(LocSegment::Index(*index));
                    current = parent;
                }
            }
        }
        loc.reverse();
        loc
    }
}

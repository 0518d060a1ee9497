//! The library's behaviour through its public API, one test binary
//! (one link instead of three in the suite): each file under library/ is
//! a module.

mod changed_flags;
mod count_auto;
mod on_no_match;

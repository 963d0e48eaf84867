//! Integration tests of the engine (one binary, as the style guide asks).

mod common;
mod l1;
mod rules;
mod traces;
mod vectors;

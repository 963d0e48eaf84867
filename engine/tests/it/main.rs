//! Integration tests of the engine (one binary, as the style guide asks).

mod common;
mod rules;
mod traces;
mod vectors;

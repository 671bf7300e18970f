//! Sber adapter tests.

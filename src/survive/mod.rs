//! survive stage (work in progress).

#![allow(dead_code)]
pub mod bot_process;
pub mod fake_discord;
pub mod running;

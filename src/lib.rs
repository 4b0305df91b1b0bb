//! Bedside keeps a healthcare practice's Discord server professional: it flags staff messages
//! that read as personal medical advice or disclose patient details (privately), acknowledges
//! patient feedback without disclosing anything, and keeps channels from going quiet.
//!
//! # Layout
//! The lower floor is pure (no Discord, no async runtime, no database, no clock reads) and holds
//! almost every test:
//! - [`vocabulary`]: the words every layer shares (roles, labels, kinds, severities, feedback
//!   kinds); it imports nothing of the project's.
//! - [`phone`]: phone numbers in any region's formats (libphonenumber's metadata), for config and detect.
//! - [`config`]: raw TOML → validated rules, word lists, templates, tips; every error at once.
//! - [`detect`]: text + role → labels and explained findings; redacted excerpts.
//! - [`setup`]: a loaded configuration with its compiled detector, templates and tips vetted.
//! - [`policy`]: who is staff, and what Bedside does about a message (facts + time in, outcome out).
//! - [`acknowledge`]: replies to feedback that disclose nothing; templates vetted at load.
//! - [`notice`]: what people read (the author's DM, the staff alert, the feedback share).
//! - [`stagnation`]: which quiet channels get a reminder, and which tip.
//! - [`report`]: figures and charts from what the store kept.
//! - [`turns`]: queues by guild, served in turn (fairness for the analysis thread).
//! - [`quality`]: precision, recall and F1 per label and source, on labeled samples.
//!
//! The shell translates between the world and the core, and decides nothing:
//! - [`export`]: reads DiscordChatExporter JSON exports, streamed.
//! - [`scan`]: audits exports into a [`scan::Report`].
//! - [`store`]: SQLite: flags, acknowledgements, activity, and the outbox of actions to deliver.
//! - [`discord`]: the live bot on serenity (gather → `policy` decides → record → deliver).
//! - [`logs`]: logging that never carries content, whatever a dependency logs; the panic hook.
//! - [`cli`]: the `bedside` command line.

pub mod acknowledge;
pub mod cli;
pub mod config;
pub mod detect;
pub mod discord;
pub mod export;
pub mod logs;
pub mod notice;
pub mod phone;
pub mod policy;
pub mod quality;
pub mod report;
pub mod scan;
pub mod setup;
pub mod stagnation;
pub mod store;
pub mod turns;
pub mod vocabulary;

//! The fake Discord's own unit tests: its fixtures are what serenity accepts, its helpers do what
//! Discord does. They live here, in the one test binary that checks the fake, rather than in the
//! fake's modules, which every live-bot test binary compiles: there they ran once per binary.

mod token {
    use crate::support::fake_discord::*;

    #[test]
    fn token_is_valid_and_encodes_the_bot_id() {
        let t = fake_token(BOT_USER_ID);
        assert!(serenity::utils::validate_token(&t).is_ok(), "{t}");
        assert_eq!(base64_no_pad(b"Man"), "TWFu");
        assert_eq!(base64_no_pad(b"Ma"), "TWE");
        assert!(t.starts_with(&base64_no_pad(BOT_USER_ID.to_string().as_bytes())));
    }
}

mod fixtures {
    use serde_json::{Value, json};
    use serenity::model::prelude::*;

    use crate::support::fake_discord::fixtures::*;
    use crate::support::fake_discord::validate::{check_dispatch, check_rest};

    fn world() -> GuildFixture {
        GuildFixture::maple_grove()
    }

    fn place(channel_id: u64) -> Place {
        Place { channel_id, guild_id: world().guild_of_channel(channel_id).map(|g| g.id) }
    }

    #[test]
    fn users_and_current_user() {
        let w = world();
        for u in &w.users {
            let user: User = check_rest(&user_json(u)).unwrap();
            assert_eq!(user.id.get(), u.id);
        }
        let me: CurrentUser = check_rest(&current_user_json(&w)).unwrap();
        assert!(me.bot);
        assert_eq!(me.id.get(), BOT_USER_ID);
    }

    #[test]
    fn roles_channels_members() {
        let w = world();
        let g = w.guild(GUILD_ID).unwrap();
        let roles: Vec<Role> = check_rest(&Value::Array(g.roles.iter().map(role_json).collect())).unwrap();
        assert_eq!(roles.len(), 7);
        let moderator = roles.iter().find(|r| r.id.get() == ROLE_MODERATOR).unwrap();
        assert!(moderator.permissions.manage_messages());
        for c in &g.channels {
            let ch: GuildChannel = check_rest(&channel_json(c, g.id, true)).unwrap();
            assert_eq!(ch.guild_id.get(), GUILD_ID);
            let any: Channel = check_rest(&channel_json(c, g.id, true)).unwrap();
            assert!(any.guild().is_some());
        }
        for m in &g.members {
            let member: Member = check_rest(&member_json(&w, m)).unwrap();
            assert_eq!(member.roles.len(), m.roles.len());
        }
    }

    #[test]
    fn guild_create_and_ready() {
        let w = world();
        for g in &w.guilds {
            let text =
                crate::support::fake_discord::validate::dispatch_text("GUILD_CREATE", &guild_create_json(&w, g), 2);
            let Event::GuildCreate(ev) = check_dispatch(&text).unwrap() else { panic!() };
            assert_eq!(ev.guild.id.get(), g.id);
            assert_eq!(ev.guild.channels.len(), g.channels.iter().filter(|c| !c.is_thread()).count());
            assert_eq!(ev.guild.members.len(), g.members.len());
            assert!(ev.guild.threads.iter().all(|t| t.guild_id.get() == g.id));
        }
        let ready = ready_json(&w, &w.guilds.iter().collect::<Vec<_>>(), "s1", "ws://127.0.0.1:1", [0, 1]);
        let text = crate::support::fake_discord::validate::dispatch_text("READY", &ready, 1);
        let Event::Ready(r) = check_dispatch(&text).unwrap() else { panic!() };
        assert_eq!(r.ready.guilds.len(), 2);
        assert_eq!(r.ready.application.id.get(), APPLICATION_ID);
    }

    #[test]
    fn application_command_dm_gateway() {
        let w = world();
        let _: CurrentApplicationInfo = check_rest(&application_json(&w)).unwrap();
        let body = json!({"name": "triage", "description": "Triage a question", "options": [
            {"type": 3, "name": "topic", "description": "Topic", "required": true}
        ]});
        let cmd: Command = check_rest(&command_json(&w, &body, 5, 6, Some(GUILD_ID))).unwrap();
        assert_eq!(cmd.options.len(), 1);
        let menu = json!({"name": "Report", "type": 3});
        let _: Command = check_rest(&command_json(&w, &menu, 7, 8, None)).unwrap();
        let dm: PrivateChannel = check_rest(&dm_channel_json(&w, 9, USER_PATIENT_A)).unwrap();
        assert_eq!(dm.recipient.id.get(), USER_PATIENT_A);
        let any: Channel = check_rest(&dm_channel_json(&w, 9, USER_PATIENT_A)).unwrap();
        assert!(any.private().is_some());
        let _: BotGateway = check_rest(&bot_gateway_json("ws://127.0.0.1:1", 1)).unwrap();
    }

    #[test]
    fn messages() {
        let w = world();
        let spec =
            MessageSpec::new(CH_GENERAL, USER_PATIENT_A, "hello <@1>").mentions(&[USER_PRIYA_RAMAN]).reply_to(42);
        let p = place(CH_GENERAL);
        let referenced = message_json(&w, &MessageSpec::new(CH_GENERAL, USER_PATIENT_B, "q"), 42, &p, Some(&[]), None);
        let v = message_json(&w, &spec, snowflake_now(), &p, Some(&[ROLE_PATIENT]), Some(&rest_message(&referenced)));
        let msg: Message = check_rest(&v).unwrap();
        assert_eq!(msg.member.unwrap().roles[0].get(), ROLE_PATIENT);
        assert_eq!(msg.mentions[0].id.get(), USER_PRIYA_RAMAN);
        assert_eq!(msg.referenced_message.unwrap().id.get(), 42);
        let rest: Message = check_rest(&rest_message(&v)).unwrap();
        assert!(rest.guild_id.is_none() && rest.member.is_none());
        let hook = MessageSpec::new(CH_GENERAL, 0, "from a webhook").webhook(77).author_name("Forms");
        let v = message_json(&w, &hook, snowflake_now(), &p, None, None);
        let msg: Message = check_rest(&v).unwrap();
        assert_eq!(msg.webhook_id.unwrap().get(), 77);
        let body = json!({"content": "pong", "embeds": [{"title": "t", "description": "d"}],
            "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Ok", "custom_id": "ok"}]}],
            "message_reference": {"message_id": "42"}});
        let mut v = bot_message_json(&w, snowflake_now(), &p, &body, 0, None);
        let msg: Message = check_rest(&v).unwrap();
        assert_eq!(msg.kind, MessageType::InlineReply);
        assert_eq!(msg.components.len(), 1);
        apply_message_edit(&mut v, &json!({"content": "edited"}));
        let msg: Message = check_rest(&v).unwrap();
        assert!(msg.edited_timestamp.is_some());
    }

    #[test]
    fn interactions() {
        let w = world();
        let p = place(CH_ASK_THE_CLINIC);
        let opts = vec![
            SlashOption::string("topic", "flu shots"),
            SlashOption::user("who", USER_PATIENT_A),
            SlashOption::role("role", ROLE_PATIENT),
            SlashOption::channel("where", CH_GENERAL),
            SlashOption::subcommand("sub", vec![SlashOption::integer("n", 3), SlashOption::boolean("b", true)]),
        ];
        let d =
            slash_command_json(&w, 10, 11, &p, USER_PRIYA_RAMAN, Some(&[ROLE_STAFF, ROLE_CLINICIAN]), "triage", &opts);
        let text = crate::support::fake_discord::validate::dispatch_text("INTERACTION_CREATE", &d, 5);
        let Event::InteractionCreate(ev) = check_dispatch(&text).unwrap() else { panic!() };
        let cmd = ev.interaction.command().unwrap();
        assert_eq!(cmd.data.options.len(), 5);
        assert_eq!(cmd.user.id.get(), USER_PRIYA_RAMAN);
        assert!(cmd.data.resolved.users.contains_key(&UserId::new(USER_PATIENT_A)));
        assert_eq!(cmd.member.unwrap().roles.len(), 2);

        let dm = Place { channel_id: 99, guild_id: None };
        let d = slash_command_json(&w, 12, 11, &dm, USER_PATIENT_A, None, "help", &[]);
        let text = crate::support::fake_discord::validate::dispatch_text("INTERACTION_CREATE", &d, 6);
        let Event::InteractionCreate(ev) = check_dispatch(&text).unwrap() else { panic!() };
        assert!(ev.interaction.command().unwrap().guild_id.is_none());

        let target = rest_message(&message_json(
            &w,
            &MessageSpec::new(CH_ASK_THE_CLINIC, USER_PATIENT_B, "q"),
            42,
            &p,
            Some(&[]),
            None,
        ));
        let d = message_command_json(&w, 13, 14, &p, USER_MODERATOR, Some(&[ROLE_MODERATOR]), "Report", &target);
        let text = crate::support::fake_discord::validate::dispatch_text("INTERACTION_CREATE", &d, 7);
        let Event::InteractionCreate(ev) = check_dispatch(&text).unwrap() else { panic!() };
        let cmd = ev.interaction.command().unwrap();
        assert_eq!(cmd.data.kind, CommandType::Message);
        assert_eq!(cmd.data.resolved.messages.len(), 1);

        let body = json!({"content": "Resolve?", "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Yes", "custom_id": "resolve:1"}]}]});
        let msg = rest_message(&bot_message_json(&w, 50, &p, &body, 0, None));
        let d = button_click_json(&w, 15, &p, USER_PRIYA_RAMAN, Some(&[ROLE_STAFF]), "resolve:1", &msg);
        let text = crate::support::fake_discord::validate::dispatch_text("INTERACTION_CREATE", &d, 8);
        let Event::InteractionCreate(ev) = check_dispatch(&text).unwrap() else { panic!() };
        let click = ev.interaction.message_component().unwrap();
        assert_eq!(click.data.custom_id, "resolve:1");
        assert_eq!(click.message.id.get(), 50);
    }
}

mod rest {
    use serde_json::json;

    use crate::support::fake_discord::rest::*;
    use crate::support::fake_discord::state::State;

    #[test]
    fn multipart_payload_json() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ--\r\n";
        let (payload, files) = parse_multipart("multipart/form-data; boundary=XyZ", body);
        assert_eq!(payload.unwrap()["content"], "hi");
        assert_eq!(files, vec!["a.txt".to_string()]);
    }

    #[test]
    fn rate_limit_headers_follow_body() {
        let h = rate_limit_headers(Some(&json!({"retry_after": 0.25, "global": false})));
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("retry-after").as_deref(), Some("1"));
        assert_eq!(get("x-ratelimit-reset-after").as_deref(), Some("0.250"));
        assert_eq!(get("x-ratelimit-global"), None);
    }

    #[test]
    fn paging_like_discord() {
        let mut st = State::new();
        for id in 1..=7u64 {
            st.store_message(5, id, json!({"id": id.to_string()}));
        }
        let ids = |q: &str| -> Vec<String> {
            page_messages(&st, 5, q).ok().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(ids("&after=2&limit=2"), vec!["4", "3"]);
        assert_eq!(ids("&before=6&limit=2"), vec!["5", "4"]);
        assert_eq!(ids("limit=3"), vec!["7", "6", "5"]);
        assert_eq!(ids("around=4&limit=3"), vec!["5", "4", "3"]);
        assert_eq!(ids("after=7"), Vec::<String>::new());
        assert!(page_messages(&st, 5, "limit=101").is_err());
    }
}

mod state {
    use crate::support::fake_discord::state::*;

    #[test]
    fn globs() {
        assert!(glob_match("/channels/*/messages", "/channels/1/messages"));
        assert!(glob_match("/api/v10/channels/*/messages", "/channels/1/messages"));
        assert!(!glob_match("/channels/*/messages", "/channels/1/messages/2"));
        assert!(glob_match("/channels/**", "/channels/1/messages/2"));
        assert!(glob_match("/interactions/**/callback", "/interactions/1/tok/callback"));
        assert!(!glob_match("/users/@me", "/users/@me/channels"));
    }

    #[test]
    fn queries() {
        assert_eq!(
            query_pairs("&after=12&limit=50"),
            vec![("after".into(), "12".into()), ("limit".into(), "50".into())]
        );
        assert_eq!(query_pairs("a=%F0%9F%91%8D"), vec![("a".into(), "👍".into())]);
    }
}

mod validate {
    use serde_json::json;
    use serenity::model::event::Event;

    use crate::support::fake_discord::validate::*;

    #[test]
    fn refuses_message_create_without_author() {
        let d = json!({"id": "1", "channel_id": "2", "content": "hi"});
        let err = check_dispatch(&dispatch_text("MESSAGE_CREATE", &d, 1)).unwrap_err();
        assert!(err.contains("author"), "{err}");
    }

    #[test]
    fn refuses_unknown_event() {
        let err = check_dispatch(&dispatch_text("NOT_AN_EVENT", &json!({}), 1)).unwrap_err();
        assert!(err.contains("does not know"), "{err}");
    }

    #[test]
    fn accepts_resumed() {
        assert!(matches!(check_dispatch(&dispatch_text("RESUMED", &json!({}), 3)), Ok(Event::Resumed(_))));
    }
}

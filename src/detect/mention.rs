//! User mentions, found one way for both their uses: detection asks whether a message addresses
//! someone (the `mention` feature), and redaction masks each one as `@someone`.
//!
//! A mention is Discord's `<@id>` or `<@!id>` (in matchable text, already the word `@mention`), or
//! an `@Name` as exports and hand-typed text have it: after a space or at the start, a name that
//! starts with a letter. Not a person: `@everyone`, `@here`, a role (`<@&id>`, read as `@role`), a
//! channel, and the `@` inside an email address.

/// Byte spans of the user mentions in `text`, in order.
pub fn mentions(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (i, _) in text.match_indices('@') {
        if text[..i].ends_with('<') {
            let rest = &text[i + 1..];
            let rest = rest.strip_prefix('!').unwrap_or(rest);
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && rest[digits..].starts_with('>') {
                let end = text.len() - rest.len() + digits + 1;
                spans.push((i - 1, end));
            }
            continue;
        }
        let before_ok = text[..i].chars().next_back().is_none_or(char::is_whitespace);
        let name_len: usize = text[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | '.'))
            .map(char::len_utf8)
            .sum();
        let name = &text[i + 1..i + 1 + name_len];
        if before_ok
            && name.chars().next().is_some_and(char::is_alphabetic)
            && !matches!(name.to_lowercase().as_str(), "everyone" | "here" | "role" | "channel")
        {
            spans.push((i, i + 1 + name_len));
        }
    }
    spans
}

/// Whether `text` mentions a user at all.
pub fn has_mention(text: &str) -> bool {
    !mentions(text).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        mentions(text).into_iter().map(|(s, e)| &text[s..e]).collect()
    }

    #[test]
    fn discord_mentions_and_typed_names_are_mentions() {
        assert_eq!(found("<@123> and <@!45> and @Kayla_R. hi"), ["<@123>", "<@!45>", "@Kayla_R."]);
        assert!(has_mention("@mention your results"), "a Discord mention in matchable text");
        assert!(has_mention("@Zoë your results"));
    }

    #[test]
    fn everyone_roles_channels_and_emails_are_not() {
        assert!(!has_mention("email hello@maplegrove.example"));
        assert!(!has_mention("@everyone flu shots are in"));
        assert!(!has_mention("@here and @role please read"));
        assert!(!has_mention("<@&42> please read"), "a role mention");
        assert!(!has_mention("<@abc> @1234"));
    }
}

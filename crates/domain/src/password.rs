//! The password policy, after NIST SP 800-63B: a minimum and a maximum length, no composition
//! rules, and a blocklist — the most common passwords (a list compiled in), the account's own
//! email, the product's name, and runs of one repeated or consecutive character.
//!
//! The minimum is 12 characters: 800-63B-4 asks for 15 when a password is the only factor and
//! 8 with a second one; spendlens has no second factor yet, and 12 with the blocklist is the
//! compromise the issue asked for (raising it is a one-line change). The maximum (128
//! characters, 512 bytes) is well above the 64 the guidance asks to allow, and keeps a request
//! from making the server hash megabytes.

use std::collections::HashSet;
use std::sync::OnceLock;

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// The longest password accepted, in bytes (UTF-8), whatever its characters.
pub const MAX_PASSWORD_BYTES: usize = 512;

const COMMON: &str = include_str!("../data/common_passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// Why a new password is refused; the text says what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password needs at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error(
        "the password is too long (at most {MAX_PASSWORD_CHARS} characters and {MAX_PASSWORD_BYTES} bytes)"
    )]
    TooLong,
    #[error(
        "the password is one of the most common passwords; choose another (a few unrelated words work well)"
    )]
    Common,
    #[error("the password must not be the email address; choose another")]
    IsEmail,
    #[error("the password is one character repeated or a simple sequence; choose another")]
    Sequence,
    #[error("the two passwords differ")]
    Mismatch,
}

/// Whether a password that is not being set (a sign-in attempt) is too long to be worth hashing.
pub fn too_long_to_check(password: &str) -> bool {
    password.len() > MAX_PASSWORD_BYTES
}

/// Checks a new password for the account `email` (as typed; compared case-insensitively).
pub fn check_new_password(password: &str, email: &str) -> Result<(), PasswordError> {
    let chars = password.chars().count();
    if password.len() > MAX_PASSWORD_BYTES || chars > MAX_PASSWORD_CHARS {
        return Err(PasswordError::TooLong);
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    let lower = password.to_lowercase();
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower.contains(&email) || (local.len() >= 4 && lower == local)) {
        return Err(PasswordError::IsEmail);
    }
    if common().contains(lower.as_str()) {
        return Err(PasswordError::Common);
    }
    if is_run(&lower) {
        return Err(PasswordError::Sequence);
    }
    Ok(())
}

/// Checks a new password and its confirmation.
pub fn check_new_password_confirmed(
    password: &str,
    confirm: &str,
    email: &str,
) -> Result<(), PasswordError> {
    check_new_password(password, email)?;
    if password != confirm {
        return Err(PasswordError::Mismatch);
    }
    Ok(())
}

/// One character repeated (`aaaaaaaaaaaa`), or each character one after the previous, up or
/// down (`abcdefghijkl`, `3456789012`: digits wrap).
fn is_run(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let steps: Vec<i64> = chars
        .windows(2)
        .map(|pair| {
            let step = i64::from(u32::from(pair[1])) - i64::from(u32::from(pair[0]));
            if pair[0].is_ascii_digit() && pair[1].is_ascii_digit() {
                // 9 → 0 continues an ascending run, 0 → 9 a descending one.
                match step {
                    -9 => 1,
                    9 => -1,
                    other => other,
                }
            } else {
                step
            }
        })
        .collect();
    let Some(first) = steps.first() else {
        return true;
    };
    (-1..=1).contains(first) && steps.iter().all(|step| step == first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_is_counted_in_characters_with_a_byte_cap() {
        assert_eq!(
            check_new_password("short pass", "a@b.c"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_new_password("twelve chars", "a@b.c"), Ok(()));
        // 12 characters, 24 bytes.
        assert_eq!(check_new_password("ééééé ßßßßßß", "a@b.c"), Ok(()));
        assert_eq!(
            check_new_password(&"x y".repeat(43), "a@b.c"),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check_new_password(&"x".repeat(5000), "a@b.c"),
            Err(PasswordError::TooLong)
        );
        // 128 characters is allowed, 129 is not.
        let at_max: String = "abc ".repeat(32);
        assert_eq!(check_new_password(&at_max, "a@b.c"), Ok(()));
        assert_eq!(
            check_new_password(&format!("{at_max}x"), "a@b.c"),
            Err(PasswordError::TooLong)
        );
        // 100 four-byte characters (400 bytes) are allowed.
        assert!(check_new_password(&"🦀🐍".repeat(50), "a@b.c").is_ok());
        assert!(too_long_to_check(&"x".repeat(MAX_PASSWORD_BYTES + 1)));
        assert!(!too_long_to_check("anything normal"));
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for password in [
            "password1234",
            "Qwertyuiop123",
            "1q2w3e4r5t6y",
            "SPENDLENS123",
        ] {
            assert_eq!(
                check_new_password(password, "a@b.c"),
                Err(PasswordError::Common),
                "{password}"
            );
        }
        assert!(common().len() > 150);
        assert!(common().iter().all(|p| *p == p.to_lowercase()));
    }

    #[test]
    fn the_email_is_refused_as_a_password() {
        assert_eq!(
            check_new_password("Alice.Smith@Example.com", "alice.smith@example.com"),
            Err(PasswordError::IsEmail)
        );
        assert_eq!(
            check_new_password("my alice.smith@example.com", "alice.smith@example.com"),
            Err(PasswordError::IsEmail)
        );
        assert_eq!(
            check_new_password("alicesmithjones", "alicesmithjones@example.com"),
            Err(PasswordError::IsEmail)
        );
        assert_eq!(
            check_new_password("correct horse battery staple", "alice@example.com"),
            Ok(())
        );
    }

    #[test]
    fn repeated_and_sequential_characters_are_refused() {
        for password in [
            "aaaaaaaaaaaa",
            "abcdefghijklm",
            "3456789012345",
            "zyxwvutsrqpo",
        ] {
            assert_eq!(
                check_new_password(password, "a@b.c"),
                Err(PasswordError::Sequence),
                "{password}"
            );
        }
        assert_eq!(check_new_password("abcdefghijkz", "a@b.c"), Ok(()));
    }

    #[test]
    fn the_confirmation_must_match() {
        assert_eq!(
            check_new_password_confirmed("a long passphrase", "a long passphrasE", "a@b.c"),
            Err(PasswordError::Mismatch)
        );
        assert_eq!(
            check_new_password_confirmed("a long passphrase", "a long passphrase", "a@b.c"),
            Ok(())
        );
    }
}

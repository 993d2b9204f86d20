//! [`ValidateInput`]: what a type must implement to be taken by a `validate`d handler.

use super::error::{FieldError, LocSegment};

/// A type whose values `#[secure(validate)]` can check after deserializing them.
///
/// `#[secure_api::request]` implements it for request structs (their `#[validate(...)]` rules);
/// it is implemented here for scalars (`u64`, `String`, `bool`, `Uuid`, ...) so `Path<u64>` and
/// `Path<(u64, u64)>` need nothing, and for `Vec<T>` and `Option<T>` of validated types.
///
/// Implement it by hand for a type with rules of its own; report every failure with its `loc`
/// relative to the value, and the framework prefixes `body`/`query`/`path`.
///
/// # Examples
/// ```
/// use secure_api::validate::{FieldError, ValidateInput};
///
/// struct Even(u64);
///
/// impl ValidateInput for Even {
///     fn validate_input(&self) -> Result<(), Vec<FieldError>> {
///         if self.0 % 2 == 0 { Ok(()) } else { Err(vec![FieldError::new("even", "Must be even")]) }
///     }
/// }
/// assert!(Even(3).validate_input().is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a request type, so `validate` cannot check it",
    label = "not a request type",
    note = "annotate the type with `#[secure_api::request]` and give its fields `#[validate(...)]` rules",
    note = "to accept this input unchecked, write `validate = false` in `#[secure(...)]`"
)]
pub trait ValidateInput {
    /// Checks the value's rules, returning every failure.
    fn validate_input(&self) -> Result<(), Vec<FieldError>>;
}

macro_rules! no_rules {
    ($($ty:ty),* $(,)?) => {
        $(
            impl ValidateInput for $ty {
                /// A well-formed value of this type is valid; its parsing is the check.
                fn validate_input(&self) -> Result<(), Vec<FieldError>> {
                    Ok(())
                }
            }
        )*
    };
}

no_rules!(
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    uuid::Uuid,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
);

impl<T: ValidateInput> ValidateInput for Option<T> {
    fn validate_input(&self) -> Result<(), Vec<FieldError>> {
        self.as_ref().map_or(Ok(()), T::validate_input)
    }
}

/// A top-level list (`Json<Vec<NewItem>>`); the route's body limit bounds its length. Errors of
/// item `i` are reported under `loc` index `i`.
impl<T: ValidateInput> ValidateInput for Vec<T> {
    fn validate_input(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        for (index, item) in self.iter().enumerate() {
            if let Err(item_errors) = item.validate_input() {
                errors.extend(item_errors.into_iter().map(|error| error.prefixed(&[LocSegment::Index(index)])));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

macro_rules! tuples {
    ($(($($name:ident . $index:tt),+))*) => {
        $(
            /// Several path parameters (`Path<(u64, String)>`).
            impl<$($name: ValidateInput),+> ValidateInput for ($($name,)+) {
                fn validate_input(&self) -> Result<(), Vec<FieldError>> {
                    let mut errors = Vec::new();
                    $(
                        if let Err(found) = self.$index.validate_input() {
                            errors.extend(found.into_iter().map(|e| e.prefixed(&[LocSegment::Index($index)])));
                        }
                    )+
                    if errors.is_empty() { Ok(()) } else { Err(errors) }
                }
            }
        )*
    };
}

tuples! {
    (A.0)
    (A.0, B.1)
    (A.0, B.1, C.2)
    (A.0, B.1, C.2, D.3)
}

/// Compile-time check emitted by the macros, spanned on the user's type so a missing
/// implementation is reported there.
#[doc(hidden)]
pub const fn assert_validate_input<T: ValidateInput + ?Sized>() {}

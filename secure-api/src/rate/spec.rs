//! A route's rate: `N` requests per window, and what that means under GCRA.

use std::fmt;
use std::time::Duration;

/// `rate = "N/WINDOW"`: at most `N` requests per `WINDOW`, enforced with GCRA.
///
/// # Semantics (the same in every store)
/// The limiter is a Generic Cell Rate Algorithm (the "leaky bucket as a meter" that `governor`
/// implements): the emission interval is `T = WINDOW / N` (rounded up to the nanosecond in
/// memory and to the microsecond in Redis, so never more permissive than declared), and the
/// burst is `N`.
/// - A fresh caller (or one idle for a whole `WINDOW`) may send all `N` requests at once.
/// - After that, one more request is allowed every `T`: `"100/15m"` lets a caller burst 100
///   requests, then one every 9 seconds.
/// - Over any span of time `S`, a caller gets at most `N + S / T` requests through.
///
/// `#[secure(rate = "...")]` parses the text at compile time (`s`, `m`, `h`, `d`, with an
/// optional count: `"10/1s"`, `"100/15m"`, `"5000/1d"`, `"60/m"`) and rejects a zero count,
/// a zero window, a window longer than 365 days, more than one request per microsecond, and
/// unknown units. [`RateSpec::new`] is the constructor the expansion calls.
///
/// # Examples
/// ```
/// use secure_api::rate::RateSpec;
/// use std::time::Duration;
///
/// const ITEMS: RateSpec = RateSpec::new(100, 15 * 60);
/// assert_eq!(ITEMS.count(), 100);
/// assert_eq!(ITEMS.window(), Duration::from_secs(900));
/// assert_eq!(ITEMS.period(), Duration::from_secs(9));
/// assert_eq!(ITEMS.to_string(), "100/15m");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RateSpec {
    count: u32,
    window_secs: u64,
}

impl RateSpec {
    /// The longest window: 365 days. A longer one is a quota, not a rate limit.
    pub const MAX_WINDOW_SECS: u64 = 365 * 86_400;

    /// `count` requests per `window_secs` seconds.
    ///
    /// Values the macro would reject are clamped rather than panicking: `count` to at least 1
    /// and at most one request per microsecond of the window, `window_secs` to
    /// `1..=MAX_WINDOW_SECS`.
    pub const fn new(count: u32, window_secs: u64) -> Self {
        let window_secs = if window_secs == 0 {
            1
        } else if window_secs > Self::MAX_WINDOW_SECS {
            Self::MAX_WINDOW_SECS
        } else {
            window_secs
        };
        let max_count = window_secs.saturating_mul(1_000_000);
        let count = if count == 0 {
            1
        } else if count as u64 > max_count {
            max_count as u32
        } else {
            count
        };
        Self { count, window_secs }
    }

    /// `N`: the requests allowed per window, and the burst a fresh caller may send at once.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The window.
    pub const fn window(&self) -> Duration {
        Duration::from_secs(self.window_secs)
    }

    /// The window in seconds (the `w` of `RateLimit-Policy`).
    pub const fn window_secs(&self) -> u64 {
        self.window_secs
    }

    /// The emission interval `T = WINDOW / N`, rounded up to the nanosecond.
    pub const fn period(&self) -> Duration {
        Duration::from_nanos(self.period_nanos())
    }

    pub(crate) const fn period_nanos(&self) -> u64 {
        (self.window_secs * 1_000_000_000).div_ceil(self.count as u64)
    }

    /// `T` rounded up to the microsecond: the Redis store's clock resolution.
    #[cfg(any(feature = "redis", test))]
    pub(crate) const fn period_micros(&self) -> u64 {
        (self.window_secs * 1_000_000).div_ceil(self.count as u64)
    }
}

impl fmt::Display for RateSpec {
    /// The canonical text: `N/` and the window in its largest whole unit (`"100/15m"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (amount, unit) = [(86_400, 'd'), (3_600, 'h'), (60, 'm')]
            .into_iter()
            .find(|(unit_secs, _)| self.window_secs.is_multiple_of(*unit_secs))
            .map_or((self.window_secs, 's'), |(unit_secs, unit)| (self.window_secs / unit_secs, unit));
        write!(f, "{}/{amount}{unit}", self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_round_up() {
        assert_eq!(RateSpec::new(10, 1).period(), Duration::from_millis(100));
        assert_eq!(RateSpec::new(3, 1).period_nanos(), 333_333_334);
        assert_eq!(RateSpec::new(3, 1).period_micros(), 333_334);
        assert_eq!(RateSpec::new(100, 900).period_micros(), 9_000_000);
    }

    #[test]
    fn canonical_names() {
        assert_eq!(RateSpec::new(10, 60).to_string(), "10/1m");
        assert_eq!(RateSpec::new(5000, 86_400).to_string(), "5000/1d");
        assert_eq!(RateSpec::new(7, 90).to_string(), "7/90s");
        assert_eq!(RateSpec::new(1, 7_200).to_string(), "1/2h");
    }

    #[test]
    fn out_of_range_values_are_clamped_not_panicking() {
        assert_eq!(RateSpec::new(0, 0), RateSpec::new(1, 1));
        assert_eq!(RateSpec::new(u32::MAX, 1).count(), 1_000_000);
        assert_eq!(RateSpec::new(1, u64::MAX).window_secs(), RateSpec::MAX_WINDOW_SECS);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The written form (`100/15m`) reads back as the same count and window, in the largest
        /// whole unit, as the macro's grammar accepts it. Counts finer than one request per
        /// microsecond are clamped (to 1 000 000 per second of window), and the text says so.
        #[test]
        fn display_round_trips(count in 1u32.., window in 1u64..=RateSpec::MAX_WINDOW_SECS) {
            let spec = RateSpec::new(count, window);
            let expected_count = u64::from(count).min(window.saturating_mul(1_000_000));
            prop_assert_eq!(u64::from(spec.count()), expected_count);
            let count = spec.count();
            let text = spec.to_string();
            let (count_text, window_text) = text.split_once('/').unwrap();
            let unit = window_text.chars().last().unwrap();
            let amount: u64 = window_text[..window_text.len() - 1].parse().unwrap();
            let secs = match unit { 's' => 1, 'm' => 60, 'h' => 3_600, 'd' => 86_400, _ => panic!("{text}") };
            prop_assert_eq!(count_text.parse::<u32>().unwrap(), count);
            prop_assert_eq!(amount * secs, window);
            prop_assert!(RateSpec::new(count, window).period() > Duration::ZERO);
        }
    }
}

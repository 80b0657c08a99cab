//! How long to wait before the next attempt after a failure: pure decisions, tested on their own, that the
//! stream's I/O only carries out.

use std::time::Duration;

/// The first wait after a failure.
pub const FIRST_WAIT: Duration = Duration::from_millis(800);
/// No wait is ever longer: a person at a terminal should see the watch back within this of the server.
pub const LONGEST_WAIT: Duration = Duration::from_secs(30);
/// Each wait is shortened by up to this share at random, so that many clients cut off at once do not all
/// come back at once; shortened only, so that `LONGEST_WAIT` stays a bound.
const JITTER: f64 = 0.2;

/// Waits that double from `FIRST_WAIT` to `LONGEST_WAIT`, each shortened by a random share of up to a fifth,
/// and start again from the first after a success.
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// The wait before the next attempt; `random` is a number in [0, 1) that decides the jitter.
    pub fn next_wait(&mut self, random: f64) -> Duration {
        let nominal = FIRST_WAIT
            .checked_mul(1u32.checked_shl(self.failures).unwrap_or(u32::MAX))
            .unwrap_or(LONGEST_WAIT)
            .min(LONGEST_WAIT);
        self.failures = self.failures.saturating_add(1);
        nominal.mul_f64(1.0 - JITTER * random.clamp(0.0, 1.0))
    }

    /// An attempt succeeded: the next failure waits `FIRST_WAIT` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A number in [0, 1) from the clock's nanoseconds: enough to spread clients apart, no more is asked of it.
pub fn clock_random() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos) / 1e9
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn waits_double_to_thirty_seconds_and_start_again_after_a_success() {
        let mut backoff = Backoff::default();
        let waits: Vec<f64> = (0..8).map(|_| backoff.next_wait(0.0).as_secs_f64()).collect();
        assert_eq!(waits, [0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]);
        backoff.reset();
        assert_eq!(backoff.next_wait(0.0), FIRST_WAIT);
    }

    #[test]
    fn jitter_only_shortens_by_up_to_a_fifth() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.next_wait(0.999_999).as_millis(), 640);
    }

    proptest! {
        /// However long the outage and whatever the dice, no wait exceeds the bound or falls below 80% of
        /// the nominal doubling, and waits never shrink but by jitter.
        #[test]
        fn every_wait_is_bounded(dice in proptest::collection::vec(0.0f64..1.0, 1..200)) {
            let mut backoff = Backoff::default();
            for (failure, random) in dice.iter().enumerate() {
                let wait = backoff.next_wait(*random);
                let nominal = FIRST_WAIT.as_secs_f64() * 2f64.powi(failure.min(40) as i32);
                let nominal = nominal.min(LONGEST_WAIT.as_secs_f64());
                prop_assert!(wait <= LONGEST_WAIT, "{wait:?} after {failure} failures");
                prop_assert!(wait.as_secs_f64() >= nominal * 0.8 - 1e-9, "{wait:?} below {nominal}");
            }
        }
    }
}

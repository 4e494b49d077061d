use rand::Rng;

/// Exponential backoff with full jitter on the upper half (SPEC §4: base 2 s, factor 2, cap 30 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub base_ms: i64,
    pub factor: f64,
    pub cap_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 2_000,
            factor: 2.0,
            cap_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// The un-jittered delay before retry number `retry` (1 for the first retry).
    pub fn nominal_delay_ms(&self, retry: u32) -> i64 {
        let exp = self.factor.powi(retry.saturating_sub(1).min(62) as i32);
        let delay = (self.base_ms as f64 * exp).min(self.cap_ms as f64);
        delay as i64
    }

    /// The delay actually used: uniformly drawn from [nominal/2, nominal], so retries of many
    /// items that failed together spread out instead of stampeding back at the same instant.
    pub fn delay_ms(&self, retry: u32) -> i64 {
        let nominal = self.nominal_delay_ms(retry);
        if nominal <= 1 {
            return nominal.max(0);
        }
        rand::thread_rng().gen_range(nominal / 2..=nominal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.nominal_delay_ms(1), 2_000);
        assert_eq!(p.nominal_delay_ms(2), 4_000);
        assert_eq!(p.nominal_delay_ms(3), 8_000);
        assert_eq!(p.nominal_delay_ms(10), 30_000);
        for n in 1..8 {
            let d = p.delay_ms(n);
            assert!(d >= p.nominal_delay_ms(n) / 2 && d <= p.nominal_delay_ms(n));
        }
    }
}

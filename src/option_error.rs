//! Bad options of the library's functions (`DsmOptions::sigma`, `SampleOptions::n`, a sweep's
//! grids, …), told by the option's field name and the value given.
//!
//! A message is kept in pieces, text and options, so that the library shows an option by its
//! field (`` `sigma` must be a positive number, got 0 ``) and the binary by its flag
//! (`--sigma must be …`), from one table in the binary (`cli/case_flags.rs`).

/// An option of a library function, by its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Opt {
    /// Draws (`SampleOptions::n`, `DsmOptions::n`).
    N,
    /// MALA chains (`SampleOptions::chains`).
    Chains,
    /// Burn-in steps per chain (`SampleOptions::burn_in`).
    BurnIn,
    /// The sampler (`SampleOptions::sampler`).
    Sampler,
    /// Probes per draw (`EstimateOptions::probes_per_draw`).
    ProbesPerDraw,
    /// DSM's noise scale (`DsmOptions::sigma`).
    Sigma,
    /// A quadrature tolerance (`tol` of the options).
    Tol,
    /// DSM's swept parameter (`dsm`'s `sweep`).
    Sweep,
    /// Parameter values given to a case (the `overrides`; a sweep's grids and fixed values).
    Params,
    /// Fisher's parameter name (`FisherSpec::theta`).
    Theta,
    /// Fisher's data variable (`FisherSpec::data`).
    Data,
    /// Fisher's simulator log-density (`FisherSpec::simulator`).
    Simulator,
    /// Fisher's proposal log-density (`FisherSpec::proposal`).
    Proposal,
    /// Fisher's field in θ (`FisherSpec::field`).
    Field,
    /// Fisher's θ interval (`FisherSpec::theta_domain`).
    ThetaDomain,
    /// Fisher's data interval (`FisherSpec::data_domain`).
    DataDomain,
    /// Score points (`ScoreOptions::points`).
    Points,
    /// Score relative tolerance (`ScoreOptions::rtol`).
    Rtol,
    /// Score absolute tolerance (`ScoreOptions::atol`).
    Atol,
    /// Score finite-difference steps (`ScoreOptions::fd_steps`).
    FdSteps,
    /// The figure drawn (`plot::Kind`).
    Kind,
    /// A cap on evaluations (`CheckOptions::max_evals`).
    MaxEvals,
}

impl Opt {
    /// The option's field name.
    pub fn key(self) -> &'static str {
        match self {
            Opt::N => "n",
            Opt::Chains => "chains",
            Opt::BurnIn => "burn_in",
            Opt::Sampler => "sampler",
            Opt::ProbesPerDraw => "probes_per_draw",
            Opt::Sigma => "sigma",
            Opt::Tol => "tol",
            Opt::Sweep => "sweep",
            Opt::Params => "params",
            Opt::Theta => "theta",
            Opt::Data => "data",
            Opt::Simulator => "simulator",
            Opt::Proposal => "proposal",
            Opt::Field => "field",
            Opt::ThetaDomain => "theta_domain",
            Opt::DataDomain => "data_domain",
            Opt::Points => "points",
            Opt::Rtol => "rtol",
            Opt::Atol => "atol",
            Opt::FdSteps => "fd_steps",
            Opt::Kind => "kind",
            Opt::MaxEvals => "max_evals",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Opt(Opt),
}

/// A bad option: a message in which options are named by [`render`](OptionError::render)'s
/// choice (their field names, for `Display`).
#[derive(Clone, Debug, PartialEq)]
pub struct OptionError {
    pieces: Vec<Piece>,
}

impl OptionError {
    /// A message that starts with the option `o`.
    pub fn new(o: Opt) -> Self {
        OptionError {
            pieces: vec![Piece::Opt(o)],
        }
    }

    /// A message that starts with text.
    pub fn text_first(t: impl Into<String>) -> Self {
        OptionError {
            pieces: vec![Piece::Text(t.into())],
        }
    }

    /// Text after the message so far.
    pub fn text(mut self, t: impl Into<String>) -> Self {
        self.pieces.push(Piece::Text(t.into()));
        self
    }

    /// An option after the message so far.
    pub fn opt(mut self, o: Opt) -> Self {
        self.pieces.push(Piece::Opt(o));
        self
    }

    /// The options the message names, in order.
    pub fn options(&self) -> impl Iterator<Item = Opt> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Opt(o) => Some(*o),
            Piece::Text(_) => None,
        })
    }

    /// The message with each option shown as `name` says (the binary passes its flags).
    pub fn render(&self, name: impl Fn(Opt) -> String) -> String {
        self.pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Opt(o) => name(*o),
            })
            .collect()
    }
}

impl std::fmt::Display for OptionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(|o| format!("`{}`", o.key())))
    }
}

impl std::error::Error for OptionError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_by_default_and_any_name_on_request() {
        let e = OptionError::new(Opt::Chains)
            .text(" × ")
            .opt(Opt::BurnIn)
            .text(" is too many");
        assert_eq!(e.to_string(), "`chains` × `burn_in` is too many");
        assert_eq!(
            e.render(|o| format!("--{}", o.key().replace('_', "-"))),
            "--chains × --burn-in is too many"
        );
        assert_eq!(e.options().collect::<Vec<_>>(), [Opt::Chains, Opt::BurnIn]);
    }
}

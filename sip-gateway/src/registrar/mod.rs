//! The registrar: agents and lawyers register their softphones with digest auth.

//! `cliauth-mock`: a scriptable mock OAuth 2.0 authorization server and hosted API.

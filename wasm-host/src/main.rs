fn main(){}
mod manifest;
mod runtime;

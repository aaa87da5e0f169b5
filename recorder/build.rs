//! Bakes an rpath to libtorch's lib folder into `infoplane-record`, so it runs without
//! `LD_LIBRARY_PATH`. torch-sys (built with `LIBTORCH_USE_PYTORCH=1` against the venv's torch)
//! reports that folder as `DEP_TCH_LIBTORCH_LIB`.

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}

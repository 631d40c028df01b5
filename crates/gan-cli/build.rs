//! Embeds libtorch's folder as an rpath so `gan` runs without LD_LIBRARY_PATH
//! (torch-sys exports the folder to direct dependents as DEP_TCH_LIBTORCH_LIB).
fn main() {
    let lib = std::env::var("DEP_TCH_LIBTORCH_LIB").expect("torch-sys exports its lib dir");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
}

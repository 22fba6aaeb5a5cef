#include "agent/uplink/mosquitto_api.h"

#include <dlfcn.h>

#include <mutex>
#include <string>
#include <type_traits>

namespace vigil {

Result<const MosquittoApi*> LoadMosquitto() {
  static MosquittoApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* lib = dlopen("libmosquitto.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      error = std::string("libmosquitto.so.1 cannot be loaded (install the package libmosquitto1): ") +
              (why ? why : "unknown error");
      return;
    }
    auto sym = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      if (!fn && error.empty()) error = std::string("libmosquitto.so.1 lacks ") + name + " (version 2.0 or later needed)";
    };
    sym(api.lib_init, "mosquitto_lib_init");
    sym(api.create, "mosquitto_new");
    sym(api.destroy, "mosquitto_destroy");
    sym(api.int_option, "mosquitto_int_option");
    sym(api.connect_callback_set, "mosquitto_connect_v5_callback_set");
    sym(api.disconnect_callback_set, "mosquitto_disconnect_v5_callback_set");
    sym(api.publish_callback_set, "mosquitto_publish_v5_callback_set");
    sym(api.message_callback_set, "mosquitto_message_v5_callback_set");
    sym(api.log_callback_set, "mosquitto_log_callback_set");
    sym(api.username_pw_set, "mosquitto_username_pw_set");
    sym(api.tls_set, "mosquitto_tls_set");
    sym(api.tls_opts_set, "mosquitto_tls_opts_set");
    sym(api.will_set, "mosquitto_will_set_v5");
    sym(api.connect, "mosquitto_connect_bind_v5");
    sym(api.loop, "mosquitto_loop");
    sym(api.publish, "mosquitto_publish_v5");
    sym(api.subscribe, "mosquitto_subscribe_v5");
    sym(api.disconnect, "mosquitto_disconnect_v5");
    sym(api.strerror, "mosquitto_strerror");
    sym(api.reason_string, "mosquitto_reason_string");
    if (error.empty()) api.lib_init();
  });
  if (!error.empty()) return Status::Unavailable(error);
  return &api;
}

}  // namespace vigil

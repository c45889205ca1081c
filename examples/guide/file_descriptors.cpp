// file_descriptors.cpp: a descriptor and a stream over a descriptor in one
// message over unix://. They travel as real descriptors when both sides
// pass them, else as byte streams; this program runs both ways. Either way,
// sending gives the descriptors away.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

using Mode = libchan::ByteStream::Mode;

struct Job {
  libchan::Value config;       // an Fd, which arrives as a ByteStream when not passed
  libchan::ByteStream report;  // a ByteStream over a descriptor arrives as a ByteStream
  LIBCHAN_FIELDS(config, report)
};

int check(int result, const char* what) {
  if (result < 0) throw std::system_error(errno, std::generic_category(), what);
  return result;
}

void serve(libchan::Listener& listener) {
  libchan::Session session = listener.accept();
  libchan::Receiver<Job> jobs = session.accept_receiver<Job>();
  while (std::optional<Job> job = jobs.receive()) {
    bool passed = job->config.kind() == libchan::Value::Kind::fd;
    libchan::ByteStream config =
        passed ? libchan::ByteStream::from_fd(job->config.take_fd()) : job->config.take_stream();
    std::string text = config.read_all();
    job->report.write("read \"" + text + "\" from " + (passed ? "a descriptor\n" : "a stream\n"));
  }  // destroying the job closes `report`: the client's read_all() returns
}

int main() {
  const std::string url = "unix://@libchan-guide-" + std::to_string(::getpid());
  for (bool pass : {true, false}) {
    libchan::SessionOptions options;
    options.pass_descriptors = pass;  // on by default
    libchan::Listener listener = libchan::listen(url, options);
    std::thread server(serve, std::ref(listener));
    libchan::Session session = libchan::dial(url, options);
    libchan::Sender<Job> jobs = session.open_sender<Job>();
    libchan::Fd config(check(::memfd_create("config", MFD_CLOEXEC), "memfd_create"));
    check(static_cast<int>(::pwrite(config.get(), "verbose=1", 9, 0)), "pwrite");
    int ends[2];
    check(::pipe2(ends, O_CLOEXEC), "pipe2");
    libchan::ByteStream report =
        libchan::ByteStream::from_fd(libchan::Fd(ends[0]), Mode::read_only);
    jobs.send(
        {std::move(config), libchan::ByteStream::from_fd(libchan::Fd(ends[1]), Mode::write_only)});
    std::cout << "pass_descriptors " << (pass ? "on:  " : "off: ") << report.read_all();
    jobs.close();
    server.join();
  }
}

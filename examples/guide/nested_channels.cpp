// nested_channels.cpp: channel ends inside messages, in both directions. The
// client hands the server a Receiver to read lines from and a Sender to
// write results to; the session forwards both across the connection.
#include <cctype>
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Job {
  libchan::Receiver<std::string> input;  // the server reads from it
  libchan::Sender<std::string> output;   // the server writes to it
  LIBCHAN_FIELDS(input, output)
};

void serve(libchan::Session& session) {
  libchan::Receiver<Job> jobs = session.accept_receiver<Job>();
  while (std::optional<Job> job = jobs.receive()) {
    while (std::optional<std::string> line = job->input.receive()) {
      for (char& c : *line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      job->output.send(*line);
    }
    job->output.close();  // tells the client there is no more output
  }
}

int main() {
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0");
  std::thread server([&listener] {
    libchan::Session session = listener.accept();
    serve(session);
  });
  libchan::Session session = libchan::dial(listener.local_address());
  libchan::Sender<Job> jobs = session.open_sender<Job>();

  // Two local channels: the job takes one end of each, the client keeps the other.
  auto [input, lines] = libchan::buffered_pipe<std::string>(8);
  auto [results, output] = libchan::pipe<std::string>();
  jobs.send({std::move(input), std::move(output)});

  lines.send("nested channels");
  lines.send("go both ways");
  lines.close();  // the server's job->input reaches its end
  while (std::optional<std::string> result = results.receive()) std::cout << *result << '\n';

  jobs.close();
  server.join();
}
